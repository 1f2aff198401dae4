import ConvoStore
import Foundation
import TestSupport
import Testing

/// A native dump with waiting conversations, closing windows, charges and controls, over two businesses.
let queryDump = """
{"type":"message","id":"wamid.1","business":"15550001111","customer":"447700900123","direction":"in","at":1751364000000,"kind":"text","body":"hello","entry_point":{"source":"ad","id":"120200000"}}
{"type":"message","id":"wamid.2","business":"15550001111","customer":"447700900123","direction":"out","at":"2025-07-01T10:05:00Z","kind":"template","category":"utility"}
{"type":"status","business":"15550001111","id":"wamid.2","status":"read","at":1751364400000}
{"type":"control","business":"15550001111","customer":"447700900123","by":"customer","action":"marketing_opt_out","at":1751365000000}
{"type":"message","id":"wamid.3","business":"15550001111","customer":"447700900999","direction":"in","at":1751364000000}
{"type":"message","id":"wamid.4","business":"15550002222","customer":"447700900999","direction":"out","at":1751364000000,"kind":"template","category":"marketing"}
{"type":"message","id":"wamid.5","business":"15550002222","customer":"447700900999","direction":"in","at":1751364000001}
{"type":"message","id":"wamid.6","business":"15550002222","customer":"447700900999","direction":"out","at":1751364000002,"kind":"template","category":"marketing"}
{"type":"message","id":"wamid.7","business":"15550002222","customer":"447700900555","direction":"in","at":1751450000000}
{"type":"message","id":"wamid.8","business":"15550001111","customer":"447700900777","direction":"in","at":1751500000000}
{"type":"message","id":"wamid.9","business":"15550001111","customer":"447700900777","direction":"out","at":1751500060000,"kind":"text"}
{"type":"message","id":"wamid.10","business":"15550001111","customer":"447700900777","direction":"out","at":1751600000000,"kind":"template","category":"authentication"}

"""

/// Every query route answers what the command line's `--json` prints on the same store, byte for byte.
@Suite struct QueryRouteTests {
    /// Fills the store at `db` with ``queryDump`` through the command line.
    static func importDump(_ db: String) throws {
        let file = URL(fileURLWithPath: db).deletingLastPathComponent().path + "/dump.jsonl"
        try queryDump.write(toFile: file, atomically: true, encoding: .utf8)
        _ = try cli(["import", "--db", db, "--quiet", file])
    }

    @Test func everyRouteAnswersAsTheCommandLine() async throws {
        try await withServer(setUp: Self.importDump) { client, files in
            let db = files.db
            // (route, the same question on the command line)
            var cases: [(String, [String])] = []
            for at in ["2025-07-01T10:00:00Z", "1751364000000", "2025-07-01T12:00:00Z", "2025-07-03T00:00:00Z"] {
                for (business, customer) in [("15550001111", "447700900123"), ("15550002222", "447700900999"), ("15550001111", "447700900777")] {
                    cases.append(("/v1/conversations/\(business)/\(customer)?at=\(at)", ["show", "--business", business, "--customer", customer, "--at", at]))
                }
            }
            for asOf in ["2025-07-01T00:00:00Z", "2025-07-02T10:00:00Z", "2025-07-05T00:00:00Z", "9999-12-31T23:59:59Z"] {
                cases.append(("/v1/overdue?as_of=\(asOf)", ["overdue", "--as-of", asOf]))
                cases.append(("/v1/overdue?as_of=\(asOf)&business=15550002222", ["overdue", "--as-of", asOf, "--business", "15550002222"]))
                cases.append(("/v1/overdue?as_of=\(asOf)&limit=1", ["overdue", "--as-of", asOf, "--limit", "1"]))
                cases.append(("/v1/overdue?as_of=\(asOf)&limit=0", ["overdue", "--as-of", asOf, "--limit", "0"]))
            }
            for (after, until) in [("2025-07-01T00:00:00Z", "2025-07-10T00:00:00Z"), ("1751400000000", "1751460000000"), ("2025-07-03T00:00:00Z", "2025-07-01T00:00:00Z")] {
                cases.append(("/v1/newly-overdue?after=\(after)&until=\(until)", ["newly-overdue", "--after", after, "--until", until]))
                cases.append(("/v1/newly-overdue?after=\(after)&until=\(until)&limit=1", ["newly-overdue", "--after", after, "--until", until, "--limit", "1"]))
            }
            for (from, to) in [("2025-07-01T00:00:00Z", "2025-07-10T00:00:00Z"), ("2025-07-02T10:00:00Z", "2025-07-02T10:00:00.001Z")] {
                cases.append(("/v1/windows?from=\(from)&to=\(to)", ["windows", "--from", from, "--to", to]))
                cases.append(("/v1/windows?from=\(from)&to=\(to)&business=15550001111", ["windows", "--from", from, "--to", to, "--business", "15550001111"]))
                cases.append(("/v1/windows?from=\(from)&to=\(to)&limit=2", ["windows", "--from", from, "--to", to, "--limit", "2"]))
            }
            for business in ["15550001111", "15550002222", "15559999999"] {
                cases.append(("/v1/billing/\(business)", ["billing", "--business", business]))
                cases.append(("/v1/billing/\(business)?from=2025-07-01T10:00:00Z&to=2025-07-05T00:00:00Z",
                              ["billing", "--business", business, "--from", "2025-07-01T10:00:00Z", "--to", "2025-07-05T00:00:00Z"]))
            }
            // Limits (R8): one business with a limit set through the command line, one without.
            _ = try cli(["limits", "--db", db, "--business", "15550002222", "--set", "5"])
            for business in ["15550001111", "15550002222", "15559999999"] {
                for at in ["2025-07-01T10:00:00Z", "1751450000000", "2025-07-05T00:00:00Z"] {
                    cases.append(("/v1/limits/\(business)?at=\(at)", ["limits", "--business", business, "--at", at]))
                }
            }
            var nonEmpty = 0
            for (route, command) in cases {
                let answer = try await client.get(route)
                let expected = try cli(command + ["--db", db, "--json"])
                #expect(answer.status == 200, "\(route): \(answer.body)")
                #expect(answer.body == expected, "\(route)")
                if !expected.isEmpty { nonEmpty += 1 }
            }
            #expect(nonEmpty > cases.count / 2)  // the comparisons are not all of empty answers
        }
    }

    @Test func badQueriesAre400AndUnknownThings404() async throws {
        try await withServer(setUp: Self.importDump) { client, files in
            for route in [
                "/v1/overdue", "/v1/overdue?as_of=yesterday", "/v1/overdue?as_of=2025-07-01T00:00:00Z&limit=-1",
                "/v1/overdue?as_of=2025-07-01T00:00:00Z&limit=many", "/v1/newly-overdue?after=1", "/v1/windows?from=1&to=99999999999999999999",
                "/v1/billing/15550001111?from=2025-13-01T00:00:00Z", "/v1/conversations/15550001111/447700900123?at=soon",
                "/v1/limits/15550001111?at=tomorrow",
            ] {
                let answer = try await client.get(route)
                #expect(answer.status == 400, "\(route)")
                #expect(answer.json["error"] is String, "\(route)")
            }
            let unknown = try await client.get("/v1/conversations/15550001111/447700000000?at=1751364000000")
            #expect(unknown.status == 404)
            let show = try convostore(["show", "--db", files.db, "--business", "15550001111", "--customer", "447700000000", "--json"])
            #expect(show.status == 1)  // the command line's "unknown conversation"
            #expect(try await client.get("/v1/no-such-route").status == 404)
            #expect(try await client.get("/nothing", token: nil).status == 404)
        }
    }

    @Test func everyV1RouteNeedsTheBearerToken() async throws {
        try await withServer(setUp: Self.importDump) { client, _ in
            let routes = [
                "/v1/conversations/15550001111/447700900123", "/v1/overdue?as_of=1", "/v1/newly-overdue?after=1&until=2",
                "/v1/windows?from=1&to=2", "/v1/billing/15550001111", "/v1/limits/15550001111",
            ]
            for route in routes {
                #expect(try await client.get(route, token: nil).status == 401, "\(route)")
                #expect(try await client.get(route, token: "wrong").status == 401, "\(route)")
                #expect(try await client.get(route, token: TestSecrets.apiToken + "x").status == 401, "\(route)")
                #expect(try await client.get(route, token: "").status == 401, "\(route)")
                let basic = try await client.request(.GET, route, headers: [("Authorization", "Basic \(TestSecrets.apiToken)")], token: nil)
                #expect(basic.status == 401, "\(route)")
                #expect(try await client.get(route).status == 200, "\(route)")
                let lowercase = try await client.request(.GET, route, headers: [("Authorization", "bearer \(TestSecrets.apiToken)")], token: nil)
                #expect(lowercase.status == 200, "\(route)")
            }
            #expect(try await client.send("{}", token: nil).status == 401)
            // Operators' routes need none.
            #expect(try await client.get("/health", token: nil).status == 200)
            #expect(try await client.get("/metrics", token: nil).status == 200)
        }
    }

    @Test func healthAndMetrics() async throws {
        try await withServer(setUp: Self.importDump) { client, _ in
            let health = try await client.get("/health", token: nil)
            #expect(health.status == 200)
            #expect(health.json["status"] as? String == "ok")
            _ = try await client.get("/v1/overdue?as_of=2025-07-05T00:00:00Z")
            let metrics = try await client.get("/metrics", token: nil)
            #expect(metrics.status == 200)
            #expect(metrics.headers.first(name: "Content-Type")?.hasPrefix("text/plain") == true)
            #expect(metrics.body.contains("# TYPE"))
            #expect(metrics.body.contains("http_server_request_duration_seconds"))
            // Routes are labelled by their template, never by the ids in the path.
            _ = try await client.get("/v1/conversations/15550001111/447700900123")
            let after = try await client.get("/metrics", token: nil)
            #expect(after.body.contains("/v1/conversations/{business}/{customer}"))
            #expect(!after.body.contains("447700900123"))
        }
    }
}
