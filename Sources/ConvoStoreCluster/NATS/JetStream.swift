import CNATS

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Synchronization

/// What this project asks of a stream: its name, its one subject, how many servers keep it.
public struct StreamSettings: Sendable {
    /// The stream's name (`CONVO_3`).
    public var name: String
    /// The one subject it stores (`convo.events.3`).
    public var subject: String
    /// The servers that keep a copy (a quorum of them acknowledges each publish).
    public var replicas: Int
    /// How long the stream remembers `Nats-Msg-Id`s to drop a publish made twice, in milliseconds.
    public var duplicateWindowMillis: Int64

    /// Makes the settings.
    public init(name: String, subject: String, replicas: Int, duplicateWindowMillis: Int64) {
        self.name = name
        self.subject = subject
        self.replicas = replicas
        self.duplicateWindowMillis = duplicateWindowMillis
    }
}

/// A stream's counts (`jsStreamState`).
public struct StreamState: Sendable, Hashable {
    /// Messages it holds.
    public var messages: UInt64
    /// The first and last sequence it holds (0 when empty).
    public var firstSequence: UInt64, lastSequence: UInt64
}

/// JetStream's acknowledgement of a publish (`jsPubAck`).
public struct PublishAck: Sendable, Hashable {
    /// The sequence the message has in its stream.
    public var sequence: UInt64
    /// The stream already had a message of that `Nats-Msg-Id` (within its duplicate window): nothing was added.
    public var duplicate: Bool
}

/// The JetStream context of a connection (`jsCtx`): streams, consumers, publishing with acknowledgement,
/// key-value buckets.
///
/// `@unchecked Sendable`: the C context is thread-safe (it locks itself), as its connection is.
public final class JetStream: @unchecked Sendable {
    let handle: OpaquePointer
    /// Kept so that the connection outlives the context.
    public let connection: NATSConnection
    private let asyncFailures = AsyncPublishFailures()

    init(connection: NATSConnection, waitMillis: Int64) throws(NATSError) {
        var options = jsOptions()
        try check(jsOptions_Init(&options), "JetStream options")
        options.Wait = waitMillis
        // Asynchronous publishes: at most 4,096 on the wire; a failed one is reported to the handler below.
        options.PublishAsync.MaxPending = 4_096
        // With that many unacknowledged, a publish waits for room (the client's default is 200 ms, then an
        // error): a slow quorum slows the publisher down instead of failing it.
        options.PublishAsync.StallWait = 120_000
        options.PublishAsync.ErrHandler = { _, failure, closure in
            guard let failure, let closure else { return }
            let failures = Unmanaged<AsyncPublishFailures>.fromOpaque(closure).takeUnretainedValue()
            // No stream leader to answer (an election after a server died) or no answer in time: not a
            // refusal. The handler takes the message (the client frees it otherwise) to publish again.
            if failure.pointee.Err == NATS_NO_RESPONDERS || failure.pointee.Err == NATS_TIMEOUT, let msg = failure.pointee.Msg {
                failure.pointee.Msg = nil
                failures.retry(msg)
                return
            }
            let id = failure.pointee.Msg.flatMap { msg -> String? in
                var value: UnsafePointer<CChar>?
                guard natsMsgHeader_Get(msg, "Nats-Msg-Id", &value) == NATS_OK, let value else { return nil }
                return String(cString: value)
            }
            let text = failure.pointee.ErrText.map { String(cString: $0) } ?? String(cString: natsStatus_GetText(failure.pointee.Err))
            failures.record(msgID: id ?? "?", reason: text)
        }
        options.PublishAsync.ErrHandlerClosure = Unmanaged.passUnretained(self.asyncFailures).toOpaque()
        var context: OpaquePointer?
        try check(natsConnection_JetStream(&context, connection.handle, &options), "open the JetStream context")
        self.handle = context!
        self.connection = connection
    }

    deinit {
        jsCtx_Destroy(self.handle)
    }

    // MARK: Streams

    /// Creates the stream, or checks that the existing one has the same subject and replicas. The
    /// corresponding C function is `js_AddStream`.
    public func addStream(_ settings: StreamSettings) throws(NATSError) {
        var config = jsStreamConfig()
        try check(jsStreamConfig_Init(&config), "stream options")
        let name = strdup(settings.name), subject = strdup(settings.subject)
        defer { free(name); free(subject) }
        var subjects: [UnsafePointer<CChar>?] = [UnsafePointer(subject)]
        var code = jsErrCode(rawValue: 0)
        var info: UnsafeMutablePointer<jsStreamInfo>?
        let status = subjects.withUnsafeMutableBufferPointer { buffer -> natsStatus in
            config.Name = UnsafePointer(name)
            config.Subjects = buffer.baseAddress
            config.SubjectsLen = 1
            config.Storage = js_FileStorage
            config.Replicas = Int64(settings.replicas)
            config.Duplicates = settings.duplicateWindowMillis * 1_000_000  // nanoseconds
            return js_AddStream(&info, self.handle, &config, nil, &code)
        }
        defer { jsStreamInfo_Destroy(info) }
        try check(status, "create stream \(settings.name) (\(settings.replicas) replicas)", jetStreamCode: code)
    }

    /// A stream's counts. The corresponding C function is `js_GetStreamInfo`.
    public func streamState(_ name: String) throws(NATSError) -> StreamState {
        try self.withStreamInfo(name, options: nil, "read the state of stream \(name)") { info in
            let state = info.pointee.State
            return StreamState(messages: state.Msgs, firstSequence: state.FirstSeq, lastSequence: state.LastSeq)
        }
    }

    /// The subjects of a stream that hold messages, among those `filter` matches, asked of the stream's
    /// leader. The corresponding C function is `js_GetStreamInfo` with `Stream.Info.SubjectsFilter`.
    public func streamSubjects(_ name: String, matching filter: String) throws(NATSError) -> [String] {
        var options = jsOptions()
        try check(jsOptions_Init(&options), "stream information options")
        let pattern = strdup(filter)
        defer { free(pattern) }
        options.Stream.Info.SubjectsFilter = UnsafePointer(pattern)
        return try self.withStreamInfo(name, options: &options, "list the subjects of stream \(name)") { info in
            guard let list = info.pointee.State.Subjects?.pointee, let entries = list.List else { return [] }
            return (0..<Int(list.Count)).compactMap { entries[$0].Subject.map { String(cString: $0) } }
        }
    }

    /// Runs `body` on a stream's information, destroyed after it. The corresponding C function is
    /// `js_GetStreamInfo`.
    private func withStreamInfo<T>(_ name: String, options: UnsafeMutablePointer<jsOptions>?, _ what: String,
                                   _ body: (UnsafeMutablePointer<jsStreamInfo>) throws(NATSError) -> T) throws(NATSError) -> T {
        var info: UnsafeMutablePointer<jsStreamInfo>?
        var code = jsErrCode(rawValue: 0)
        try check(js_GetStreamInfo(&info, self.handle, name, options, &code), what, jetStreamCode: code)
        defer { jsStreamInfo_Destroy(info) }
        return try body(info!)
    }

    // MARK: Publishing

    /// Publishes and waits for JetStream's acknowledgement: the message is then held by a quorum of the
    /// stream's servers. `msgID` (`Nats-Msg-Id`) makes a publish made twice land once. The corresponding
    /// C function is `js_PublishMsg`.
    public func publish(_ subject: String, _ data: [UInt8], msgID: String, headers: [(String, String)] = []) throws(NATSError) -> PublishAck {
        let message = try NATSMessage(subject: subject, data: data)
        try message.setHeader("Nats-Msg-Id", msgID)
        for (key, value) in headers { try message.setHeader(key, value) }
        var ack: UnsafeMutablePointer<jsPubAck>?
        var code = jsErrCode(rawValue: 0)
        try check(js_PublishMsg(&ack, self.handle, message.handle, nil, &code), "publish to \(subject)", jetStreamCode: code)
        defer { jsPubAck_Destroy(ack) }
        return PublishAck(sequence: ack!.pointee.Sequence, duplicate: ack!.pointee.Duplicate)
    }

    /// Publishes without waiting (at most 4,096 on the wire at once; the call waits for room). Failures
    /// are collected and reported by ``waitForAsyncPublishes(timeoutMillis:)``. The corresponding C
    /// function is `js_PublishMsgAsync`.
    public func publishAsync(_ subject: String, _ data: [UInt8], msgID: String, headers: [(String, String)] = []) throws(NATSError) {
        let message = try NATSMessage(subject: subject, data: data)
        try message.setHeader("Nats-Msg-Id", msgID)
        for (key, value) in headers { try message.setHeader(key, value) }
        let status = message.transfer { js_PublishMsgAsync(self.handle, $0, nil) }
        try check(status, "publish to \(subject)")
    }

    /// Waits until every asynchronous publish is acknowledged. Those still unacknowledged after the
    /// timeout are handed back (ownership and all) so the caller can publish them again; those JetStream
    /// refused are returned as failures. The corresponding C functions are `js_PublishAsyncComplete` and
    /// `js_PublishAsyncGetPendingList`.
    public func waitForAsyncPublishes(timeoutMillis: Int64) throws(NATSError) -> (unacknowledged: [NATSMessage], failures: [(msgID: String, reason: String)]) {
        var options = jsPubOptions()
        try check(jsPubOptions_Init(&options), "publish options")
        options.MaxWait = timeoutMillis
        let status = js_PublishAsyncComplete(self.handle, &options)
        var pending: [NATSMessage] = []
        if status == NATS_TIMEOUT {
            var list = natsMsgList()
            if js_PublishAsyncGetPendingList(&list, self.handle) == NATS_OK {
                for i in 0..<Int(list.Count) {
                    pending.append(NATSMessage(owning: list.Msgs[i]!))
                    list.Msgs[i] = nil
                }
                natsMsgList_Destroy(&list)
            }
        } else {
            try check(status, "wait for the acknowledgements of asynchronous publishes")
        }
        pending += self.asyncFailures.takeRetries().map { NATSMessage(owning: $0) }
        return (pending, self.asyncFailures.take())
    }

    /// Publishes a message handed back by ``waitForAsyncPublishes(timeoutMillis:)`` again, waiting for
    /// the acknowledgement (its `Nats-Msg-Id` makes it land once).
    public func republish(_ message: NATSMessage) throws(NATSError) -> PublishAck {
        var ack: UnsafeMutablePointer<jsPubAck>?
        var code = jsErrCode(rawValue: 0)
        try check(js_PublishMsg(&ack, self.handle, message.handle, nil, &code), "publish to \(message.subject) again", jetStreamCode: code)
        defer { jsPubAck_Destroy(ack) }
        return PublishAck(sequence: ack!.pointee.Sequence, duplicate: ack!.pointee.Duplicate)
    }

    // MARK: Consumers

    /// Creates (or replaces) the durable pull consumer `durable` on `stream`, delivering from
    /// `startSequence` with explicit acknowledgements, and subscribes to it. The corresponding C functions
    /// are `js_DeleteConsumer`, `js_AddConsumer` and `js_PullSubscribe`.
    public func pullConsumer(stream: String, subject: String, durable: String, startSequence: UInt64, ackWaitMillis: Int64, maxAckPending: Int) throws(NATSError) -> NATSSubscription {
        var code = jsErrCode(rawValue: 0)
        // A consumer left by an earlier owner starts where that owner's store was, not where this one is.
        let deleted = js_DeleteConsumer(self.handle, stream, durable, nil, &code)
        if deleted != NATS_OK && deleted != NATS_NOT_FOUND {
            throw makeError(deleted, "delete consumer \(durable) of \(stream)", jetStreamCode: code)
        }
        var config = jsConsumerConfig()
        try check(jsConsumerConfig_Init(&config), "consumer options")
        let durableName = strdup(durable), filter = strdup(subject), streamName = strdup(stream)
        defer { free(durableName); free(filter); free(streamName) }
        config.Durable = UnsafePointer(durableName)
        config.FilterSubject = UnsafePointer(filter)
        config.AckPolicy = js_AckExplicit
        config.AckWait = ackWaitMillis * 1_000_000
        config.MaxDeliver = -1
        config.MaxAckPending = Int64(maxAckPending)
        if startSequence > 1 {
            config.DeliverPolicy = js_DeliverByStartSequence
            config.OptStartSeq = startSequence
        } else {
            config.DeliverPolicy = js_DeliverAll
        }
        var info: UnsafeMutablePointer<jsConsumerInfo>?
        code = jsErrCode(rawValue: 0)
        try check(js_AddConsumer(&info, self.handle, stream, &config, nil, &code), "create consumer \(durable) of \(stream) from sequence \(startSequence)", jetStreamCode: code)
        jsConsumerInfo_Destroy(info)
        var options = jsSubOptions()
        try check(jsSubOptions_Init(&options), "subscription options")
        options.Stream = UnsafePointer(streamName)
        options.Consumer = UnsafePointer(durableName)
        options.ManualAck = true
        var subscription: OpaquePointer?
        code = jsErrCode(rawValue: 0)
        try check(js_PullSubscribe(&subscription, self.handle, subject, durable, nil, &options, &code), "subscribe to consumer \(durable) of \(stream)", jetStreamCode: code)
        return NATSSubscription(owning: subscription!, connection: self.connection)
    }

    // MARK: Key-value buckets

    /// Creates the bucket, or opens it if it exists. `ttlMillis` > 0: a value expires that long after it
    /// was last written (the bucket's stream max age). The corresponding C function is `js_CreateKeyValue`.
    public func keyValue(bucket: String, ttlMillis: Int64, replicas: Int) throws(NATSError) -> KeyValueBucket {
        var config = kvConfig()
        try check(kvConfig_Init(&config), "key-value options")
        let name = strdup(bucket)
        defer { free(name) }
        config.Bucket = UnsafePointer(name)
        config.History = 1
        config.TTL = ttlMillis * 1_000_000  // the C client passes it on as the stream's max age, in nanoseconds
        config.Replicas = Int32(replicas)
        config.StorageType = js_FileStorage
        var created: OpaquePointer?
        try check(js_CreateKeyValue(&created, self.handle, &config), "create key-value bucket \(bucket)")
        kvStore_Destroy(created)
        try self.readFromTheLeader(KeyValueBucket.stream(of: bucket))
        // Opened again: a handle decides how it reads when it is opened.
        return try self.existingKeyValue(bucket: bucket)
    }

    /// Turns the stream's direct gets off. The C client creates buckets with `AllowDirect`, so that a read
    /// may be answered by any replica, including one that has not applied the latest write yet: a
    /// lease released on the leader could still be read as held. Leases need reads from the leader.
    private func readFromTheLeader(_ stream: String) throws(NATSError) {
        try self.withStreamInfo(stream, options: nil, "read the configuration of stream \(stream)") { info throws(NATSError) in
            guard let config = info.pointee.Config, config.pointee.AllowDirect else { return }
            config.pointee.AllowDirect = false
            var updated: UnsafeMutablePointer<jsStreamInfo>?
            var code = jsErrCode(rawValue: 0)
            try check(js_UpdateStream(&updated, self.handle, config, nil, &code), "turn direct gets off on stream \(stream)", jetStreamCode: code)
            jsStreamInfo_Destroy(updated)
        }
    }

    /// Opens an existing bucket. The corresponding C function is `js_KeyValue`.
    public func existingKeyValue(bucket: String) throws(NATSError) -> KeyValueBucket {
        var kv: OpaquePointer?
        try check(js_KeyValue(&kv, self.handle, bucket), "open key-value bucket \(bucket)")
        return KeyValueBucket(owning: kv!, name: bucket, context: self)
    }
}

/// Publishes JetStream refused, reported by the C client's handler thread and read by the publisher.
final class AsyncPublishFailures: Sendable {
    private let failures = Mutex<[(msgID: String, reason: String)]>([])

    func record(msgID: String, reason: String) {
        self.failures.withLock { $0.append((msgID, reason)) }
    }

    /// Messages whose publish had no answer, owned here until ``takeRetries()``.
    private let retries = Mutex<[UnsafeSendableMessage]>([])

    func retry(_ message: OpaquePointer) {
        self.retries.withLock { $0.append(UnsafeSendableMessage(handle: message)) }
    }

    func takeRetries() -> [OpaquePointer] {
        self.retries.withLock { retries in
            defer { retries = [] }
            return retries.map(\.handle)
        }
    }

    func take() -> [(msgID: String, reason: String)] {
        self.failures.withLock { failures in
            defer { failures = [] }
            return failures
        }
    }
}

/// A `natsMsg` handed from the client's handler thread to the publisher's.
private struct UnsafeSendableMessage: @unchecked Sendable {
    // @unchecked: owned by exactly one side at a time, passed under the lock.
    let handle: OpaquePointer
}
