// A small strict JSON (RFC 8259) reader and writer for dump lines.
// Hand-written rather than Foundation's JSONSerialization because imports parse millions of lines:
// it reads straight from the line's bytes, bounds nesting depth (no stack exhaustion on hostile
// input), and reports the byte column of an error.

/// A parsed JSON value.
enum JSONValue: Equatable {
    case null
    case bool(Bool)
    /// An integer that fits Int64 exactly.
    case integer(Int64)
    /// Any other number.
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([(String, JSONValue)])

    static func == (a: JSONValue, b: JSONValue) -> Bool {
        switch (a, b) {
        case (.null, .null): return true
        case let (.bool(x), .bool(y)): return x == y
        case let (.integer(x), .integer(y)): return x == y
        case let (.number(x), .number(y)): return x == y
        case let (.string(x), .string(y)): return x == y
        case let (.array(x), .array(y)): return x == y
        case let (.object(x), .object(y)): return x.count == y.count && zip(x, y).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        default: return false
        }
    }

    /// The value of `key` in an object, or nil (the parser rejects repeated keys).
    subscript(key: String) -> JSONValue? {
        guard case .object(let fields) = self else { return nil }
        return fields.last(where: { $0.0 == key })?.1
    }

    var typeName: String {
        switch self {
        case .null: "null"
        case .bool: "a boolean"
        case .integer, .number: "a number"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
    }
}

struct JSONParseError: Error, Equatable {
    var column: Int
    var reason: String
}

struct JSONParser {
    static let maxDepth = 32
    private let bytes: UnsafeRawBufferPointer
    private var i = 0

    /// Parses exactly one JSON value (with surrounding white space) from `bytes`.
    static func parse(_ bytes: UnsafeRawBufferPointer) throws(JSONParseError) -> JSONValue {
        var parser = JSONParser(bytes: bytes)
        parser.skipSpace()
        let value = try parser.value(depth: 0)
        parser.skipSpace()
        guard parser.i == bytes.count else { throw parser.fail("unexpected text after the JSON value") }
        return value
    }

    private init(bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    private func fail(_ reason: String) -> JSONParseError { JSONParseError(column: self.i + 1, reason: reason) }

    private mutating func skipSpace() {
        while self.i < self.bytes.count {
            switch self.bytes[self.i] {
            case 0x20, 0x09, 0x0A, 0x0D: self.i += 1
            default: return
            }
        }
    }

    private mutating func value(depth: Int) throws(JSONParseError) -> JSONValue {
        guard depth < Self.maxDepth else { throw self.fail("JSON nested deeper than \(Self.maxDepth) levels") }
        guard self.i < self.bytes.count else { throw self.fail("unexpected end of line") }
        switch self.bytes[self.i] {
        case UInt8(ascii: "{"): return try self.object(depth: depth)
        case UInt8(ascii: "["): return try self.array(depth: depth)
        case UInt8(ascii: "\""): return .string(try self.string())
        case UInt8(ascii: "t"): try self.literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try self.literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try self.literal("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try self.number()
        default: throw self.fail("unexpected character")
        }
    }

    private mutating func literal(_ word: StaticString) throws(JSONParseError) {
        let n = word.utf8CodeUnitCount
        guard self.i + n <= self.bytes.count else { throw self.fail("invalid literal") }
        for k in 0..<n where self.bytes[self.i + k] != word.utf8Start[k] { throw self.fail("invalid literal") }
        self.i += n
    }

    private mutating func object(depth: Int) throws(JSONParseError) -> JSONValue {
        self.i += 1
        var fields: [(String, JSONValue)] = []
        var names = Set<String>()  // used once an object has 8 fields; a linear search before
        self.skipSpace()
        if self.i < self.bytes.count, self.bytes[self.i] == UInt8(ascii: "}") {
            self.i += 1
            return .object(fields)
        }
        while true {
            self.skipSpace()
            guard self.i < self.bytes.count, self.bytes[self.i] == UInt8(ascii: "\"") else { throw self.fail("expected a field name") }
            let keyStart = self.i
            let key = try self.string()
            // A field given twice is ambiguous (which one counts?): rejected, not resolved silently.
            let repeated: Bool
            if fields.count < 8 {
                repeated = fields.contains { $0.0 == key }
            } else {
                if names.isEmpty { names = Set(fields.map(\.0)) }
                repeated = !names.insert(key).inserted
            }
            if repeated { throw JSONParseError(column: keyStart + 1, reason: "duplicate field \(Display.quoted(key))") }
            self.skipSpace()
            guard self.i < self.bytes.count, self.bytes[self.i] == UInt8(ascii: ":") else { throw self.fail("expected ':'") }
            self.i += 1
            self.skipSpace()
            fields.append((key, try self.value(depth: depth + 1)))
            self.skipSpace()
            guard self.i < self.bytes.count else { throw self.fail("unexpected end of line in an object") }
            if self.bytes[self.i] == UInt8(ascii: ",") { self.i += 1; continue }
            if self.bytes[self.i] == UInt8(ascii: "}") { self.i += 1; return .object(fields) }
            throw self.fail("expected ',' or '}'")
        }
    }

    private mutating func array(depth: Int) throws(JSONParseError) -> JSONValue {
        self.i += 1
        var items: [JSONValue] = []
        self.skipSpace()
        if self.i < self.bytes.count, self.bytes[self.i] == UInt8(ascii: "]") {
            self.i += 1
            return .array(items)
        }
        while true {
            self.skipSpace()
            items.append(try self.value(depth: depth + 1))
            self.skipSpace()
            guard self.i < self.bytes.count else { throw self.fail("unexpected end of line in an array") }
            if self.bytes[self.i] == UInt8(ascii: ",") { self.i += 1; continue }
            if self.bytes[self.i] == UInt8(ascii: "]") { self.i += 1; return .array(items) }
            throw self.fail("expected ',' or ']'")
        }
    }

    private mutating func string() throws(JSONParseError) -> String {
        self.i += 1
        let start = self.i
        // Fast path: no escapes.
        while self.i < self.bytes.count {
            let byte = self.bytes[self.i]
            if byte == UInt8(ascii: "\"") {
                let slice = UnsafeRawBufferPointer(rebasing: self.bytes[start..<self.i])
                self.i += 1
                guard let s = Self.makeString(slice) else { throw JSONParseError(column: start + 1, reason: "string is not valid UTF-8") }
                return s
            }
            if byte == UInt8(ascii: "\\") || byte < 0x20 { break }
            self.i += 1
        }
        var out = Array(UnsafeRawBufferPointer(rebasing: self.bytes[start..<self.i]))
        while self.i < self.bytes.count {
            let byte = self.bytes[self.i]
            switch byte {
            case UInt8(ascii: "\""):
                self.i += 1
                guard let s = out.withUnsafeBytes({ Self.makeString($0) }) else { throw JSONParseError(column: start + 1, reason: "string is not valid UTF-8") }
                return s
            case UInt8(ascii: "\\"):
                self.i += 1
                guard self.i < self.bytes.count else { throw self.fail("unterminated escape") }
                let e = self.bytes[self.i]
                self.i += 1
                switch e {
                case UInt8(ascii: "\""): out.append(0x22)
                case UInt8(ascii: "\\"): out.append(0x5C)
                case UInt8(ascii: "/"): out.append(0x2F)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0C)
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "u"):
                    var scalar = try self.hex4()
                    if (0xD800..<0xDC00).contains(scalar) {
                        guard self.i + 1 < self.bytes.count, self.bytes[self.i] == UInt8(ascii: "\\"), self.bytes[self.i + 1] == UInt8(ascii: "u") else {
                            throw self.fail("unpaired surrogate in \\u escape")
                        }
                        self.i += 2
                        let low = try self.hex4()
                        guard (0xDC00..<0xE000).contains(low) else { throw self.fail("invalid low surrogate") }
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    } else if (0xDC00..<0xE000).contains(scalar) {
                        throw self.fail("unpaired surrogate in \\u escape")
                    }
                    out.append(contentsOf: Array(String(Character(Unicode.Scalar(scalar)!)).utf8))
                default:
                    throw self.fail("invalid escape")
                }
            default:
                guard byte >= 0x20 else { throw self.fail("control character in a string") }
                out.append(byte)
                self.i += 1
            }
        }
        throw self.fail("unterminated string")
    }

    /// A string from UTF-8 bytes, or nil if they are not valid UTF-8. ASCII (nearly every id and
    /// field name) takes a fast path: the generic validating initializer costs a fifth of an import.
    @inline(__always)
    static func makeString(_ bytes: UnsafeRawBufferPointer) -> String? {
        var ascii = true
        for byte in bytes where byte >= 0x80 {
            ascii = false
            break
        }
        if ascii { return String(decoding: bytes.assumingMemoryBound(to: UInt8.self), as: UTF8.self) }
        return String(validating: bytes.assumingMemoryBound(to: UInt8.self), as: UTF8.self)
    }

    private mutating func hex4() throws(JSONParseError) -> UInt32 {
        guard self.i + 4 <= self.bytes.count else { throw self.fail("short \\u escape") }
        var v: UInt32 = 0
        for _ in 0..<4 {
            let c = self.bytes[self.i]
            let d: UInt8
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): d = c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): d = c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): d = c - UInt8(ascii: "A") + 10
            default: throw self.fail("invalid hex digit in \\u escape")
            }
            v = v << 4 | UInt32(d)
            self.i += 1
        }
        return v
    }

    private mutating func number() throws(JSONParseError) -> JSONValue {
        let start = self.i
        var negative = false
        if self.bytes[self.i] == UInt8(ascii: "-") { negative = true; self.i += 1 }
        let digitsStart = self.i
        var magnitude: UInt64 = 0
        var overflow = false
        while self.i < self.bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(self.bytes[self.i]) {
            let (m1, o1) = magnitude.multipliedReportingOverflow(by: 10)
            let (m2, o2) = m1.addingReportingOverflow(UInt64(self.bytes[self.i] - UInt8(ascii: "0")))
            overflow = overflow || o1 || o2
            magnitude = m2
            self.i += 1
        }
        let digits = self.i - digitsStart
        guard digits > 0 else { throw self.fail("invalid number") }
        guard !(digits > 1 && self.bytes[digitsStart] == UInt8(ascii: "0")) else { throw self.fail("leading zero in a number") }
        var isInteger = true
        if self.i < self.bytes.count, self.bytes[self.i] == UInt8(ascii: ".") {
            isInteger = false
            self.i += 1
            let fracStart = self.i
            while self.i < self.bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(self.bytes[self.i]) { self.i += 1 }
            guard self.i > fracStart else { throw self.fail("invalid number") }
        }
        if self.i < self.bytes.count, self.bytes[self.i] == UInt8(ascii: "e") || self.bytes[self.i] == UInt8(ascii: "E") {
            isInteger = false
            self.i += 1
            if self.i < self.bytes.count, self.bytes[self.i] == UInt8(ascii: "+") || self.bytes[self.i] == UInt8(ascii: "-") { self.i += 1 }
            let expStart = self.i
            while self.i < self.bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(self.bytes[self.i]) { self.i += 1 }
            guard self.i > expStart else { throw self.fail("invalid number") }
        }
        if isInteger && !overflow {
            if negative {
                if magnitude <= UInt64(Int64.max) + 1 { return .integer(magnitude == UInt64(Int64.max) + 1 ? .min : -Int64(magnitude)) }
            } else if magnitude <= UInt64(Int64.max) {
                return .integer(Int64(magnitude))
            }
        }
        let text = String(decoding: UnsafeRawBufferPointer(rebasing: self.bytes[start..<self.i]), as: UTF8.self)
        return .number(Double(text) ?? .nan)
    }
}

