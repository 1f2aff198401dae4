import ArgumentParser
import ConvoStore
import Foundation

@main
struct ConvoStoreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "convostore",
        abstract: "Business messaging conversations on LMDB: import, query, check.",
        subcommands: [Import.self, Export.self, Overdue.self, NewlyOverdue.self, Windows.self, Show.self, Billing.self, Check.self, Stats.self])

    /// Maps ArgumentParser's usage errors (64) to the contract's exit status 2.
    static func main() {
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch let code as ExitCode {
            Foundation.exit(code.rawValue)
        } catch let error as ConvoStoreError {
            printError("error: \(error)\(hint(for: error))")
            Foundation.exit(1)
        } catch {
            let code = exitCode(for: error)
            if code == .success { exit(withError: error) }  // --help
            printError(fullMessage(for: error))
            Foundation.exit(code == .failure ? 1 : 2)
        }
    }
}

/// What the command line adds to a library error: the command that helps.
func hint(for error: ConvoStoreError) -> String {
    if case .corruptRecord = error { return "; run `convostore check` to list the damage" }
    return ""
}

/// Exit statuses of the contract: 1 = ran but found a problem, 2 = bad usage or the store could not be opened.
enum Exit {
    static let problem = ExitCode(1)
    static let usage = ExitCode(2)
}

func printError(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}

struct StoreOption: ParsableArguments {
    @Option(name: .customLong("db"), help: "The store's directory.")
    var db: String

    func open(create: Bool = false) throws -> ConvoStore {
        if !create {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: self.db + "/data.mdb", isDirectory: &isDirectory) else {
                printError("error: no store at \(self.db) (import creates one)")
                throw Exit.usage
            }
        }
        do {
            return try ConvoStore.open(at: self.db)
        } catch {
            printError("error: cannot open the store at \(self.db): \(error)")
            throw Exit.usage
        }
    }
}

/// A time on the command line: epoch milliseconds or RFC 3339.
struct Time: ExpressibleByArgument {
    var millis: Int64
    init?(argument: String) {
        guard let ms = Timestamp.parse(argument) else { return nil }
        self.millis = ms
    }
    static var defaultValueDescription: String { "epoch ms or RFC 3339" }
}

/// Writes output lines through one buffer (lists can be long).
struct Output {
    private var buffer: [UInt8] = []
    mutating func line(_ text: String) {
        self.buffer.append(contentsOf: text.utf8)
        self.buffer.append(0x0A)
        if self.buffer.count > 1 << 16 { self.flush() }
    }
    mutating func flush() {
        FileHandle.standardOutput.write(Data(self.buffer))
        self.buffer.removeAll(keepingCapacity: true)
    }
}

func rfc3339(_ ms: Int64?) -> String { ms.map(Timestamp.format) ?? "-" }

/// Prints rows as an aligned table.
func table(_ header: [String], _ rows: [[String]]) -> [String] {
    var widths = header.map(\.count)
    for row in rows { for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) } }
    func format(_ row: [String]) -> String {
        row.enumerated().map { i, cell in i == row.count - 1 ? cell : cell.padding(toLength: widths[i], withPad: " ", startingAt: 0) }.joined(separator: "  ")
    }
    return [format(header)] + rows.map(format)
}

func nowMillis() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }
