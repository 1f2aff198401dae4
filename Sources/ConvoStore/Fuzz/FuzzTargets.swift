/// Entry points for the libFuzzer targets in `Fuzz/`: each takes arbitrary bytes and must return
/// (valid or not) without crashing, hanging or allocating without bound. Not part of the store's API: `@_spi(Fuzzing) import ConvoStore` reaches it.
@_spi(Fuzzing) public enum FuzzTargets {
    /// Parses one native dump line.
    @_spi(Fuzzing) public static func nativeLine(_ bytes: UnsafeRawBufferPointer) {
        _ = try? NativeDump.parse(bytes)
    }

    /// Parses one webhook delivery line.
    @_spi(Fuzzing) public static func webhookLine(_ bytes: UnsafeRawBufferPointer) {
        _ = try? WebhookArchive.parse(bytes)
    }

    /// Decodes the bytes as every stored record and key type (what a damaged data file would hand them).
    @_spi(Fuzzing) public static func records(_ bytes: UnsafeRawBufferPointer) {
        _ = try? ConversationRecord(decoding: bytes)
        if let message = try? MessageRecord(decoding: bytes) { _ = message.encoded() }
        _ = try? ChargeKey(decoding: bytes)
        _ = try? ChargeValue(decoding: bytes)
        _ = try? RateCardVersion(effectiveFrom: 0, decoding: bytes)
        _ = try? MessageKey(decoding: bytes)
        _ = try? Checkpoint(decoding: bytes)
        _ = try? PendingStatus(decoding: bytes)
        var reader = ByteReader(bytes, database: "fuzz")
        _ = try? reader.ordered()
        _ = try? reader.ordered()
    }
}
