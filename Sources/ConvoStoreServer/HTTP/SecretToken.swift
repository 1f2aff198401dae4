import Crypto
import Foundation

/// A secret compared in constant time: both sides are hashed first (SHA-256), so the comparison
/// takes the same time whatever the length or content of what a client sent.
struct SecretToken: Sendable {
    private let digest: [UInt8]

    init(_ secret: [UInt8]) {
        self.digest = Array(SHA256.hash(data: secret))
    }

    /// Whether `candidate` is the secret.
    func matches(_ candidate: [UInt8]) -> Bool {
        let other = Array(SHA256.hash(data: candidate))
        var difference: UInt8 = 0
        for i in 0..<self.digest.count { difference |= self.digest[i] ^ other[i] }
        return difference == 0
    }
}
