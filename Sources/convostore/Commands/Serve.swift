import ArgumentParser
import Foundation
import ConvoStoreServer

struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The HTTP server: webhook deliveries and the query API over one store (see docs/server.md).",
        discussion: """
            Listens on 127.0.0.1:8080 unless told otherwise. Each secret file must be readable by its owner only \
            (chmod 600). SIGTERM or SIGINT stops it cleanly: requests under way are answered, then the store is closed.
            """)
    @Option(name: .customLong("db"), help: "The store's directory (created if missing).") var db: String
    @Option(help: "The address to listen on.") var host = "127.0.0.1"
    @Option(help: "The port to listen on (0: any free port).") var port = 8080
    @Option(name: .customLong("app-secret-file"), help: "The platform app's secret: signs webhook deliveries (X-Hub-Signature-256).")
    var appSecretFile: String
    @Option(name: .customLong("verify-token-file"), help: "The verify token of the webhook subscription handshake.")
    var verifyTokenFile: String
    @Option(name: .customLong("api-token-file"), help: "The bearer token every /v1/ route requires.") var apiTokenFile: String
    @Option(help: "Where deliveries the store rejects are kept (default: rejected-deliveries.jsonl in the store's directory).")
    var rejects: String?
    @Option(name: .customLong("idle-timeout"), help: "Seconds a connection may send nothing before it is closed.") var idleTimeout = 30
    @Option(name: .customLong("body-timeout"), help: "Seconds a request body may take to arrive before its connection is closed.")
    var bodyTimeout = 30
    @Option(name: .customLong("log-level"), help: "trace, debug (one line per request), info, notice (client errors), warning, error.")
    var logLevel = "info"
    @Option(name: .customLong("publish-nats"), help: "Publishing mode: publish each delivery to the cluster on these NATS servers (comma-separated) and answer 200 once JetStream acknowledged it, instead of recording it here (docs/cluster.md).")
    var publishNats: String?

    func validate() throws {
        guard (0...65_535).contains(self.port) else { throw ValidationError("--port \(self.port): not a port (0 to 65535)") }
        guard self.idleTimeout > 0, self.bodyTimeout > 0 else { throw ValidationError("--idle-timeout and --body-timeout must be at least 1 second") }
        guard ServeOptions.parseLogLevel(self.logLevel) != nil else {
            throw ValidationError("--log-level \(self.logLevel): expected trace, debug, info, notice, warning, error or critical")
        }
    }

    func run() throws {
        var options = ServeOptions(db: self.db, appSecretFile: self.appSecretFile, verifyTokenFile: self.verifyTokenFile, apiTokenFile: self.apiTokenFile)
        options.configuration.host = self.host
        options.configuration.port = self.port
        options.configuration.rejectsPath = self.rejects
        options.configuration.idleTimeout = .seconds(self.idleTimeout)
        options.configuration.bodyTimeout = .seconds(self.bodyTimeout)
        options.logLevel = ServeOptions.parseLogLevel(self.logLevel)!
        options.publishNATS = self.publishNats.map { $0.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) } }
        let status = ServerMain.run(options)
        if status != 0 { throw ExitCode(status) }
    }
}
