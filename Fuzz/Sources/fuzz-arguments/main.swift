// libFuzzer target: FuzzTargets.arguments on every input (the command line's time and id arguments,
// with the invariants they must keep). Run through scripts/fuzz.sh.
import CFuzzerDriver
@_spi(Fuzzing) import ConvoStore
import Foundation

var argc = CommandLine.argc
var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
exit(LLVMFuzzerRunDriver(&argc, &argv) { data, size in
    FuzzTargets.arguments(UnsafeRawBufferPointer(start: data, count: size))
    return 0
})
