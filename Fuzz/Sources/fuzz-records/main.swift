// libFuzzer target: FuzzTargets.records on every input. Run through scripts/fuzz.sh.
import CFuzzerDriver
@_spi(Fuzzing) import ConvoStore
import Foundation

var argc = CommandLine.argc
var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
exit(LLVMFuzzerRunDriver(&argc, &argv) { data, size in
    FuzzTargets.records(UnsafeRawBufferPointer(start: data, count: size))
    return 0
})
