// libFuzzer's driver entry point (compiler-rt, FuzzerInterface.h). SwiftPM links every executable
// with `main` bound to the Swift module's own entry, so each target's main.swift calls the driver
// itself instead of relying on libFuzzer's `main`.
#ifndef CFUZZERDRIVER_H
#define CFUZZERDRIVER_H
#include <stddef.h>
#include <stdint.h>

/// Runs libFuzzer with the command line `argc`/`argv` on `callback`; returns its exit status.
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));

#endif
