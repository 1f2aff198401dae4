#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

extension ServerSecrets {
    /// Reads the three secrets from files. Each must be a regular file that neither group nor
    /// others may access (the server refuses to start otherwise: a secret others can read is no
    /// secret); its content, without trailing whitespace, is the secret.
    public static func load(appSecretFile: String, verifyTokenFile: String, apiTokenFile: String) throws(ServerStartupError) -> ServerSecrets {
        var secrets = ServerSecrets(appSecret: "", verifyToken: "", apiToken: "")
        secrets.appSecret = try Self.read(appSecretFile, option: "--app-secret-file")
        secrets.verifyToken = try Self.read(verifyTokenFile, option: "--verify-token-file")
        secrets.apiToken = try Self.read(apiTokenFile, option: "--api-token-file")
        return secrets
    }

    /// The secret in `path`; checked on the open descriptor, so what is checked is what is read.
    static func read(_ path: String, option: String) throws(ServerStartupError) -> [UInt8] {
        func fail(_ reason: String) -> ServerStartupError { .secretFile(option: option, path: path, reason: reason) }
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw fail(String(cString: strerror(errno))) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw fail(String(cString: strerror(errno))) }
        guard (info.st_mode & S_IFMT) == S_IFREG else { throw fail("not a regular file") }
        let mode = info.st_mode & 0o777
        guard mode & 0o077 == 0 else {
            throw fail("may be read or changed by group or others (mode \(String(mode, radix: 8))): run chmod 600 on it")
        }
        guard info.st_size <= 65_536 else { throw fail("is \(info.st_size) bytes; a secret is at most 64 KiB") }
        var bytes = [UInt8](repeating: 0, count: Int(info.st_size))
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress! + done, $0.count - done) }
            if n < 0 && errno == EINTR { continue }
            guard n >= 0 else { throw fail(String(cString: strerror(errno))) }
            if n == 0 { break }
            done += n
        }
        bytes.removeSubrange(done...)
        while let last = bytes.last, last == 0x0A || last == 0x0D || last == 0x20 || last == 0x09 { bytes.removeLast() }
        guard !bytes.isEmpty else { throw fail("is empty") }
        return bytes
    }
}
