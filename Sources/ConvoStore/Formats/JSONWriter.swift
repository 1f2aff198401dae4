// Writes JSON objects field by field into a byte buffer: dump lines, and the command line's and
// the server's `--json` outputs (OutputJSON.swift).

/// Writes JSON objects field by field into a byte buffer (no intermediate dictionaries).
package struct JSONWriter {
    /// The JSON written so far.
    package var bytes: [UInt8] = []
    private var needsComma = false

    package init() {}

    package mutating func beginObject() { self.bytes.append(UInt8(ascii: "{")); self.needsComma = false }
    package mutating func endObject() { self.bytes.append(UInt8(ascii: "}")); self.needsComma = true }

    private mutating func key(_ name: String) {
        if self.needsComma { self.bytes.append(UInt8(ascii: ",")) }
        self.appendString(name)
        self.bytes.append(UInt8(ascii: ":"))
        self.needsComma = true
    }

    package mutating func field(_ name: String, _ value: String) { self.key(name); self.appendString(value) }
    package mutating func field(_ name: String, _ value: Int64) { self.key(name); self.bytes.append(contentsOf: Array(String(value).utf8)) }
    package mutating func field(_ name: String, _ value: Int) { self.field(name, Int64(value)) }
    package mutating func field(_ name: String, _ value: Bool) { self.key(name); self.bytes.append(contentsOf: Array((value ? "true" : "false").utf8)) }
    /// An integer, or `null` for nil.
    package mutating func field(_ name: String, _ value: Int64?) {
        if let value { self.field(name, value) } else { self.key(name); self.bytes.append(contentsOf: Array("null".utf8)) }
    }
    /// An array of objects, one per element, each written by `body`.
    package mutating func arrayField<S: Sequence>(_ name: String, _ elements: S, _ body: (inout JSONWriter, S.Element) -> Void) {
        self.key(name)
        self.bytes.append(UInt8(ascii: "["))
        var first = true
        for element in elements {
            if !first { self.bytes.append(UInt8(ascii: ",")) }
            first = false
            self.beginObject()
            body(&self, element)
            self.endObject()
        }
        self.bytes.append(UInt8(ascii: "]"))
        self.needsComma = true
    }

    /// A field whose value is JSON text written elsewhere.
    package mutating func rawField(_ name: String, _ json: String) {
        self.key(name)
        self.bytes.append(contentsOf: json.utf8)
    }

    /// `text` as a JSON string literal.
    package static func quoted(_ text: String) -> String {
        var w = JSONWriter()
        w.appendString(text)
        return w.string
    }

    /// A nested object written by `body`.
    package mutating func objectField(_ name: String, _ body: (inout JSONWriter) -> Void) {
        self.key(name)
        self.beginObject()
        body(&self)
        self.endObject()
    }

    package mutating func appendString(_ s: String) {
        self.bytes.append(UInt8(ascii: "\""))
        for byte in s.utf8 {
            switch byte {
            case UInt8(ascii: "\""): self.bytes.append(contentsOf: [0x5C, 0x22])
            case UInt8(ascii: "\\"): self.bytes.append(contentsOf: [0x5C, 0x5C])
            case 0x0A: self.bytes.append(contentsOf: [0x5C, UInt8(ascii: "n")])
            case 0x0D: self.bytes.append(contentsOf: [0x5C, UInt8(ascii: "r")])
            case 0x09: self.bytes.append(contentsOf: [0x5C, UInt8(ascii: "t")])
            case 0..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                self.bytes.append(contentsOf: [0x5C, UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"), hex[Int(byte >> 4)], hex[Int(byte & 15)]])
            default: self.bytes.append(byte)
            }
        }
        self.bytes.append(UInt8(ascii: "\""))
    }

    /// The JSON written so far, as text.
    package var string: String { String(decoding: self.bytes, as: UTF8.self) }

    /// One object written by `body`, as text.
    package static func object(_ body: (inout JSONWriter) -> Void) -> String {
        var w = JSONWriter()
        w.beginObject()
        body(&w)
        w.endObject()
        return w.string
    }
}
