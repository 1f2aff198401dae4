import Crypto
import Foundation

/// `X-Hub-Signature-256: sha256=<hex>`: the HMAC-SHA256 of a delivery's raw body, keyed with the
/// app secret. Checked before anything in the body is parsed.
struct WebhookSignature: @unchecked Sendable {
    // @unchecked: swift-crypto 3 does not mark SymmetricKey Sendable; this one is made once and only read.
    private let key: SymmetricKey

    init(appSecret: [UInt8]) {
        self.key = SymmetricKey(data: appSecret)
    }

    /// Whether `header` (the header's value) is the signature of `body`. The comparison is
    /// swift-crypto's, in constant time; a header that is not `sha256=` and 64 hex digits fails.
    func verifies(_ header: String, body: UnsafeRawBufferPointer) -> Bool {
        guard let mac = Self.decode(header) else { return false }
        return HMAC<SHA256>.isValidAuthenticationCode(mac, authenticating: body, using: self.key)
    }

    private static func decode(_ header: String) -> [UInt8]? {
        let text = Array(header.utf8)
        let prefix = Array("sha256=".utf8)
        guard text.count == prefix.count + 64, Array(text[..<prefix.count]) == prefix else { return nil }
        var mac: [UInt8] = []
        mac.reserveCapacity(32)
        var i = prefix.count
        while i < text.count {
            guard let high = Self.nibble(text[i]), let low = Self.nibble(text[i + 1]) else { return nil }
            mac.append(high << 4 | low)
            i += 2
        }
        return mac
    }

    private static func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case 0x30...0x39: c - 0x30
        case 0x61...0x66: c - 0x61 + 10
        case 0x41...0x46: c - 0x41 + 10
        default: nil
        }
    }
}
