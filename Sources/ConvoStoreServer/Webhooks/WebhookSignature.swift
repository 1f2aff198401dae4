import Crypto
import Foundation

/// `X-Hub-Signature-256: sha256=<hex>`: the HMAC-SHA256 of a delivery's raw body, keyed with the
/// app secret. Checked before anything in the body is parsed.
struct WebhookSignature: @unchecked Sendable {
    // @unchecked: swift-crypto 3 does not mark HMAC Sendable; this one is made once and only copied.
    /// The HMAC with the key's padded blocks already hashed (the profile showed the key set up again
    /// on every delivery); each delivery hashes a copy (a value type: the copy is its own).
    private let keyed: HMAC<SHA256>

    init(appSecret: [UInt8]) {
        self.keyed = HMAC<SHA256>(key: SymmetricKey(data: appSecret))
    }

    /// Whether `header` (the header's value) is the signature of `body`, compared in constant time;
    /// a header that is not `sha256=` and 64 hex digits fails.
    func verifies(_ header: String, body: UnsafeRawBufferPointer) -> Bool {
        guard let expected = Self.decode(header) else { return false }
        var hmac = self.keyed
        hmac.update(data: body)
        let code = hmac.finalize()
        return code.withUnsafeBytes { computed in
            var difference: UInt8 = 0
            for i in 0..<expected.count { difference |= computed[i] ^ expected[i] }
            return difference == 0 && computed.count == expected.count
        }
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
