import ArgumentParser
import ConvoStore

struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Write the whole store as a native dump.")
    @OptionGroup var store: StoreOption
    @Option(help: "Output file (default standard output); written whole or not at all, readable only by its owner.") var output: String?

    func run() throws {
        try self.store.checkReadable()
        let damage = try ConvoStore.damagedPages(at: self.store.db, maxProblems: 5)
        guard damage.isEmpty else {
            printError("error: the store is damaged, nothing was exported: \(damage.joined(separator: "; ")); run `convostore check` to list the damage")
            throw Exit.problem
        }
        let db = try self.store.open()
        do {
            if let output = self.output {
                try db.export(toFile: output)
            } else {
                try db.export(to: SystemFile.standardOutput)
            }
        } catch {
            printError("error: export failed: \(error)" + (self.output.map { "; \(Display.safe($0)) is as it was" } ?? ""))
            throw Exit.problem
        }
    }
}
