// Header-only: the symbol comes from libclang_rt.fuzzer, linked by `-sanitize=fuzzer`.
#include "CFuzzerDriver.h"
