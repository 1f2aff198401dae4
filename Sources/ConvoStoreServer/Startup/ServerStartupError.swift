import ConvoStore

/// Why the server did not start: each says what to do. `convostore serve` prints it and exits 2.
public enum ServerStartupError: Error, Sendable, CustomStringConvertible {
    /// A secret file is missing, unreadable, empty, not a regular file, or open to group or others.
    case secretFile(option: String, path: String, reason: String)
    /// The store could not be opened.
    case store(path: String, reason: String)
    /// The rejects file cannot be used.
    case rejectsFile(path: String, reason: String)
    /// The address could not be listened on.
    case listen(host: String, port: Int, reason: String)
    /// Publishing mode: the cluster's servers could not be reached, or hold no cluster.
    case cluster(urls: String, reason: String)

    /// A sentence for a person.
    public var description: String {
        switch self {
        case .secretFile(let option, let path, let reason):
            return "\(option) \(Display.safe(path, limit: 200)): \(reason)"
        case .store(let path, let reason):
            return "cannot open the store at \(Display.safe(path, limit: 200)): \(reason)"
        case .rejectsFile(let path, let reason):
            return "--rejects \(Display.safe(path, limit: 200)): \(reason)"
        case .listen(let host, let port, let reason):
            return "cannot listen on \(Display.safe(host)):\(port): \(reason)"
        case .cluster(let urls, let reason):
            return "--publish-nats \(Display.safe(urls, limit: 200)): \(reason)"
        }
    }
}
