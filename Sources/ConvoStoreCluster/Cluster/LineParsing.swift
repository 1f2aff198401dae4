import ConvoStore

/// The library's line parsers, as `import` calls them, with their typed error kept (their closures over
/// the line's bytes would otherwise widen it to `any Error`).
enum LineParsing {
    /// A native dump line.
    static func native(_ line: [UInt8]) -> Result<DumpLine, DumpLineError> {
        line.withUnsafeBytes { raw in Result { () throws(DumpLineError) in try NativeDump.parse(raw) } }
    }

    /// A webhook delivery.
    static func webhook(_ line: [UInt8]) -> Result<WebhookDelivery, DumpLineError> {
        line.withUnsafeBytes { raw in Result { () throws(DumpLineError) in try WebhookArchive.parse(raw) } }
    }
}
