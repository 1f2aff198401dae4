import ArgumentParser
import ConvoStore
import Foundation

/// `--db DIR`, and opening the store with a message that says what is wrong with DIR.
struct StoreOption: ParsableArguments {
    @Option(name: .customLong("db"), help: "The store's directory.")
    var db: String

    /// Opens the store for one command: it does not purge continuously (`serve` does, when the
    /// store has a retention).
    func open(create: Bool = false) throws -> ConvoStore {
        if !create { try self.checkReadable() }
        var options = StoreOptions()
        options.continuousRetention = false
        do {
            return try ConvoStore.open(at: self.db, options: options)
        } catch {
            printError("error: cannot open the store at \(Display.safe(self.db)): \(error)")
            throw Exit.usage
        }
    }

    /// A read command on a path that is no store: say which of "missing", "not a directory",
    /// "permission denied" it is.
    func checkReadable() throws {
        let dir = Display.safe(self.db)
        var info = stat()
        guard stat(self.db, &info) == 0 else {
            let reason = errno == ENOENT ? "no store at \(dir) (import creates one)" : "cannot open \(dir): \(String(cString: strerror(errno)))"
            printError("error: \(reason)")
            throw Exit.usage
        }
        guard (info.st_mode & S_IFMT) == S_IFDIR else {
            printError("error: \(dir) is not a directory (--db names a store's directory)")
            throw Exit.usage
        }
        let data = self.db + "/data.mdb"
        guard access(data, F_OK) == 0 else {
            printError(errno == ENOENT ? "error: no store at \(dir) (import creates one)" : "error: cannot open \(dir): \(String(cString: strerror(errno)))")
            throw Exit.usage
        }
        guard access(data, R_OK) == 0 else {
            printError("error: cannot read the store at \(dir): \(String(cString: strerror(errno)))")
            throw Exit.usage
        }
    }
}

/// A length of time on the command line: `30d`, `12h`, `90m`, `45s` or milliseconds.
enum TimeSpan {
    static func parse(_ text: String) throws -> Int64 {
        let units: [(String, Int64)] = [("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1_000), ("ms", 1)]
        let digits = text.prefix { $0.isASCII && $0.isNumber }
        let unit = text.dropFirst(digits.count)
        guard !digits.isEmpty, digits.count <= 12, let n = Int64(digits),
              let scale = unit.isEmpty ? 1 : units.first(where: { $0.0 == unit })?.1 else {
            throw ValidationError("\(Display.quoted(text)): expected a number with a unit (30d, 12h, 90m, 45s) or milliseconds")
        }
        return n * scale
    }
}

/// A time on the command line: epoch milliseconds or RFC 3339, between 1970 and 9999 (the store's one
/// range of times, `Limits.times`).
struct Time: ExpressibleByArgument {
    var millis: Int64

    init?(argument: String) {
        guard let ms = try? Timestamp.parseArgument(argument, field: "time") else { return nil }
        self.millis = ms
    }

    static var defaultValueDescription: String { "epoch ms or RFC 3339" }

    /// The parser for `@Option(transform:)`: its error says what is wrong with the value.
    static func parse(_ text: String) throws -> Time {
        do {
            return Time(millis: try Timestamp.parseArgument(text, field: "time"))
        } catch .invalidField(_, let reason) {
            throw ValidationError(reason)
        } catch {
            throw ValidationError(error.description)
        }
    }

    private init(millis: Int64) { self.millis = millis }
}
