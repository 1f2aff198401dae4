// Typed field access for the dump parsers (native lines and webhook deliveries alike): each
// accessor names the field by its path in the JSON (`entry[0].changes[1].value.statuses[2].id`, or
// just `at` at the top level of a native line) in the reason it throws.

extension JSONValue {
    /// `key` below `path` (nil: the top level).
    static func join(_ path: String?, _ key: String) -> String {
        guard let path else { return key }
        return path + "." + key
    }

    func requireObject(at path: String) throws(DumpLineError) {
        guard case .object = self else { throw DumpLineError("\(path): must be an object, got \(self.typeName)") }
    }

    /// A required field; `null` counts as given, and then fails the field's type check.
    func required(_ key: String, at path: String?) throws(DumpLineError) -> JSONValue {
        guard let value = self[key] else { throw DumpLineError("\(Self.join(path, key)): required field missing") }
        return value
    }

    func string(_ key: String, at path: String?) throws(DumpLineError) -> String {
        let value = try self.required(key, at: path)
        guard case .string(let s) = value else { throw DumpLineError("\(Self.join(path, key)): must be a string, got \(value.typeName)") }
        return s
    }

    func array(_ key: String, at path: String?) throws(DumpLineError) -> [JSONValue] {
        let value = try self.required(key, at: path)
        guard case .array(let items) = value else { throw DumpLineError("\(Self.join(path, key)): must be an array, got \(value.typeName)") }
        return items
    }

    func object(_ key: String, at path: String?) throws(DumpLineError) -> JSONValue {
        let value = try self.required(key, at: path)
        try value.requireObject(at: Self.join(path, key))
        return value
    }

    func optionalString(_ key: String, at path: String?) throws(DumpLineError) -> String? {
        guard let value = self[key], value != .null else { return nil }
        guard case .string(let s) = value else { throw DumpLineError("\(Self.join(path, key)): must be a string, got \(value.typeName)") }
        return s
    }

    func optionalArray(_ key: String, at path: String?) throws(DumpLineError) -> [JSONValue] {
        guard let value = self[key], value != .null else { return [] }
        guard case .array(let items) = value else { throw DumpLineError("\(Self.join(path, key)): must be an array, got \(value.typeName)") }
        return items
    }

    func optionalObject(_ key: String, at path: String?) throws(DumpLineError) -> JSONValue? {
        guard let value = self[key], value != .null else { return nil }
        try value.requireObject(at: Self.join(path, key))
        return value
    }

    /// A string or an integer (ad ids are sometimes numbers).
    func optionalScalar(_ key: String, at path: String?) throws(DumpLineError) -> String? {
        switch self[key] {
        case nil, .null?: return nil
        case .string(let s)?: return s
        case .integer(let n)?: return String(n)
        case let other?: throw DumpLineError("\(Self.join(path, key)): must be a string, got \(other.typeName)")
        }
    }
}
