// The `loadbench` executable. Its code is the LoadBenchKit library (Sources/loadbench), so that
// `sqliteserver` can put the same SQLite engine behind the server's routes.
import LoadBenchKit

await LoadBenchEntry.main()
