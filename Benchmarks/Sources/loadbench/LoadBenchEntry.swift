/// The entry point of the `loadbench` executable (Sources/loadbench-main): the harness lives in
/// this library so that `sqliteserver` can reuse its SQLite engine.
package enum LoadBenchEntry {
    /// Parses the command line and runs the harness.
    package static func main() async {
        await LoadBench.main()
    }
}
