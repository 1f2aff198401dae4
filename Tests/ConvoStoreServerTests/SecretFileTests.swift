import ConvoStoreServer
import Foundation
import TestSupport
import Testing

/// The secrets are read from files only their owner may access.
@Suite struct SecretFileTests {
    @Test func secretsAreReadTrimmedFromPrivateFiles() throws {
        try withTemporaryDirectory { dir in
            let arguments = try TestSecrets.writeFiles(in: dir)
            let secrets = try ServerSecrets.load(appSecretFile: arguments[1], verifyTokenFile: arguments[3], apiTokenFile: arguments[5])
            #expect(secrets.appSecret == Array(TestSecrets.appSecret.utf8))
            #expect(secrets.verifyToken == Array(TestSecrets.verifyToken.utf8))
            #expect(secrets.apiToken == Array(TestSecrets.apiToken.utf8))
        }
    }

    @Test(arguments: [0o640, 0o604, 0o644, 0o620, 0o666] as [mode_t])
    func aFileGroupOrOthersMayAccessIsRefused(mode: mode_t) throws {
        try withTemporaryDirectory { dir in
            let arguments = try TestSecrets.writeFiles(in: dir)
            chmod(arguments[3], mode)
            #expect {
                try ServerSecrets.load(appSecretFile: arguments[1], verifyTokenFile: arguments[3], apiTokenFile: arguments[5])
            } throws: { error in
                "\(error)".contains("--verify-token-file") && "\(error)".contains("chmod 600")
            }
        }
    }

    @Test func anEmptyFileOrADirectoryIsRefused() throws {
        try withTemporaryDirectory { dir in
            let arguments = try TestSecrets.writeFiles(in: dir)
            try "\n".write(toFile: arguments[5], atomically: false, encoding: .utf8)
            #expect { try ServerSecrets.load(appSecretFile: arguments[1], verifyTokenFile: arguments[3], apiTokenFile: arguments[5]) } throws: {
                "\($0)".contains("--api-token-file") && "\($0)".contains("empty")
            }
            #expect { try ServerSecrets.load(appSecretFile: dir, verifyTokenFile: arguments[3], apiTokenFile: arguments[5]) } throws: {
                "\($0)".contains("--app-secret-file")
            }
        }
    }
}
