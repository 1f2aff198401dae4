import ArgumentParser
import ConvoStore
import Foundation

@main
struct ConvoStoreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "convostore",
        abstract: "Business messaging conversations on LMDB: import, query, check.",
        subcommands: [
            Import.self, Export.self, Overdue.self, NewlyOverdue.self, Windows.self, Show.self, Billing.self, Rates.self, Limits.self,
            Purge.self, Retention.self, Erase.self, Backup.self, Compact.self, Upgrade.self, Check.self, Stats.self, Serve.self,
            Publish.self, NodeCommand.self, ClusterCommand.self,
        ])

    /// Maps errors to the contract's exit statuses: 1 = ran but found a problem, 2 = bad usage or the
    /// store could not be opened (ArgumentParser's usage errors are 64 otherwise). Every message
    /// starts `error:`.
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
            var message = fullMessage(for: error)
            if message.hasPrefix("Error: ") { message = "error: " + message.dropFirst("Error: ".count) }
            printError(message)
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
