// crash-verify STORE LOG [TASKS]
//
// After the writer was killed: reopens the store (as a server restarting would), and checks that
// - every pair LOG names (acknowledged by `submit`) is in the store, both of its messages;
// - no pair is half there: in every conversation of the workload each inbound `in.t.n` has its
//   reply `out.t.n` and `messagesIn == messagesOut`;
// - `check` finds no problem.
// Prints one line and exits 0 when all hold, 1 otherwise.
import ConvoStore
import CrashWorkload
import Foundation

let arguments = CommandLine.arguments
guard arguments.count >= 3 else {
    FileHandle.standardError.write(Data("usage: crash-verify STORE LOG [TASKS]\n".utf8))
    exit(2)
}
let storePath = arguments[1]
let logPath = arguments[2]
let tasks = arguments.count > 3 ? Int(arguments[3]) ?? 8 : 8

func fail(_ text: String) -> Never {
    print("crash-verify: FAIL: \(text)")
    exit(1)
}

var acknowledged: [Int: Set<Int>] = [:]
var ackCount = 0
if let text = try? String(contentsOfFile: logPath, encoding: .utf8) {
    // Only whole lines count: a line the kill tore was never acknowledged to anyone.
    for line in text.split(separator: "\n", omittingEmptySubsequences: false).dropLast() {
        let parts = line.split(separator: " ")
        guard parts.count == 2, let task = Int(parts[0]), let pair = Int(parts[1]) else { continue }
        if acknowledged[task, default: []].insert(pair).inserted { ackCount += 1 }
    }
}

let store: ConvoStore
do {
    store = try ConvoStore.open(at: storePath)
} catch {
    fail("cannot reopen \(storePath): \(error)")
}
defer { store.close() }

var messages = 0
do {
    try store.read { reader in
        for task in 0..<tasks {
            let business = CrashWorkload.business(task: task)
            for slot in 0..<CrashWorkload.conversationsPerTask {
                let customer = "crash-c\(task)-\(slot)"
                let history = try reader.history(business: business, customer: customer, limit: .max)
                let ids = Set(history.map(\.message.id))
                messages += ids.count
                for id in ids {
                    let parts = id.split(separator: ".")
                    guard parts.count == 3 else { fail("\(business)/\(customer): unexpected message \(id)") }
                    let partner = (parts[0] == "in" ? "out" : "in") + ".\(parts[1]).\(parts[2])"
                    if !ids.contains(partner) { fail("\(business)/\(customer): \(id) is there without \(partner) (half-applied submit)") }
                }
                if let state = try reader.conversation(business: business, customer: customer, at: CrashWorkload.start + 1 << 40) {
                    if state.messagesIn != state.messagesOut || state.messagesIn * 2 != ids.count {
                        fail("\(business)/\(customer): messagesIn \(state.messagesIn), messagesOut \(state.messagesOut), \(ids.count) messages")
                    }
                } else if !ids.isEmpty {
                    fail("\(business)/\(customer): messages without a conversation")
                }
                for pair in acknowledged[task, default: []] where pair % CrashWorkload.conversationsPerTask == slot {
                    if !ids.contains("in.\(task).\(pair)") || !ids.contains("out.\(task).\(pair)") {
                        fail("acknowledged pair \(task) \(pair) is missing from \(business)/\(customer)")
                    }
                }
            }
        }
    }
} catch {
    fail("reading: \(error)")
}

let report: CheckReport
do {
    report = try store.check()
} catch {
    fail("check threw: \(error)")
}
guard report.isHealthy else { fail("check: \(report.problems.prefix(5).joined(separator: "; "))") }
print("crash-verify: ok: \(ackCount) acknowledged pairs present, \(messages) messages whole, check clean (\(report.conversations) conversations, \(report.indexEntries) index entries)")
