import ConvoStore
import ConvoStoreCluster
import Dispatch
import Foundation
import Logging
import ServiceLifecycle

/// What `convostore serve` was given on its command line.
public struct ServeOptions: Sendable {
    /// The store's directory (created if it does not exist, as `import` does).
    public var db: String
    public var appSecretFile: String
    public var verifyTokenFile: String
    public var apiTokenFile: String
    public var configuration = ServerConfiguration()
    public var logLevel: Logger.Level = .info
    /// Publishing mode: the cluster's NATS servers (`--publish-nats`).
    public var publishNATS: [String]?

    /// A log level by its name (`info`, `debug`...).
    public static func parseLogLevel(_ name: String) -> Logger.Level? { Logger.Level(rawValue: name) }

    /// Options with the defaults for the rest.
    public init(db: String, appSecretFile: String, verifyTokenFile: String, apiTokenFile: String) {
        self.db = db
        self.appSecretFile = appSecretFile
        self.verifyTokenFile = verifyTokenFile
        self.apiTokenFile = apiTokenFile
    }
}

/// Runs `convostore serve` from start to stop; the command line only parses its arguments.
public enum ServerMain {
    /// Starts the server and blocks until it has stopped. Returns the exit status: 0 after a clean
    /// stop (SIGTERM or SIGINT: requests under way answered, the store closed), 2 when it could not
    /// start (a secret file, the store, the rejects file, the address; the reason is on standard
    /// error), 1 when it failed while running.
    public static func run(_ options: ServeOptions) -> Int32 {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = options.logLevel
            return handler
        }
        let logger = Logger(label: "convostore.server")
        let server: ConvoStoreServer
        do {
            let secrets = try ServerSecrets.load(
                appSecretFile: options.appSecretFile, verifyTokenFile: options.verifyTokenFile, apiTokenFile: options.apiTokenFile)
            // Before the store opens: the store takes its metric handles from this backend.
            let registry = ServerMetrics.bootstrapPrometheus()
            let store: ConvoStore
            do {
                var storeOptions = StoreOptions()
                storeOptions.logger = Logger(label: "convostore")
                store = try ConvoStore.open(at: options.db, options: storeOptions)
            } catch {
                throw ServerStartupError.store(path: options.db, reason: "\(error)")
            }
            var configuration = options.configuration
            if let urls = options.publishNATS {
                do {
                    configuration.publisher = try DeliveryPublisher(urls: urls)
                } catch {
                    throw ServerStartupError.cluster(urls: urls.joined(separator: ","), reason: "\(error)")
                }
            }
            server = try ConvoStoreServer(store: store, secrets: secrets, configuration: configuration, registry: registry, logger: logger)
        } catch {
            printError("error: \(error)")
            return 2
        }
        logger.info("serving", metadata: ["db": "\(Display.safe(server.store.path, limit: 200))", "rejects": "\(Display.safe(server.rejectsPath, limit: 200))"])
        let listening = ListeningFlag()
        let status = blockOn {
            do {
                try await server.serviceGroup(onListening: { _ in listening.set() }).run()
                return Int32(0)
            } catch {
                if !listening.isSet {
                    let host = options.configuration.host, port = options.configuration.port
                    printError("error: \(ServerStartupError.listen(host: host, port: port, reason: "\(error)"))")
                    return Int32(2)
                }
                printError("error: the server stopped: \(error)")
                return Int32(1)
            }
        }
        server.store.close()
        return status
    }

    /// Runs `body` on the concurrency pool and blocks this (non-pool) thread until it returns.
    private static func blockOn(_ body: @escaping @Sendable () async -> Int32) -> Int32 {
        let done = DispatchSemaphore(value: 0)
        let result = ResultSlot()
        Task {
            result.value = await body()
            done.signal()
        }
        done.wait()
        return result.value
    }
}

/// A line on standard error.
func printError(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}

/// Set once the server listens: an error before it is a startup error (exit 2).
private final class ListeningFlag: @unchecked Sendable {
    // @unchecked: `value` is only touched while `lock` is held.
    private let lock = NSLock()
    private var value = false
    func set() { self.lock.withLock { self.value = true } }
    var isSet: Bool { self.lock.withLock { self.value } }
}

/// The status handed from the server's task to the blocked thread (after the semaphore).
private final class ResultSlot: @unchecked Sendable {
    // @unchecked: written by the task before `signal`, read by the waiting thread after `wait`.
    var value: Int32 = 1
}
