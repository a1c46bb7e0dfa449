import Foundation
import TailorInference

/// What the engine reports to one request, per choice (a row of the batch).
public enum EngineEvent: Sendable {
    case token(choice: Int, id: Int32, text: String, logprobs: TokenLogprobs?)
    case finished(choice: Int, GenerationResult)
    case failed(choice: Int, String)
}

/// Runs the model on one thread of its own: a bounded queue of waiting rows, a `BatchDecoder`
/// of `maxBatch` slots that they join between decode steps, and each request's events sent to
/// its stream. A request whose stream ends (the client went away) leaves the batch before the
/// next step. Adapter loading and other changes to the model run on the same thread between
/// steps (`perform`), so they never race a forward.
public final class Engine: @unchecked Sendable {
    let decoder: BatchDecoder
    public let maxQueue: Int

    private struct Row {
        let key: Int
        let job: Int
        let choice: Int
        let request: BatchRequest
        let continuation: AsyncStream<EngineEvent>.Continuation
    }

    private let lock = NSCondition()
    private var waiting: [Row] = []
    private var running: [Int: Row] = [:]
    private var cancelled: Set<Int> = []
    private var commands: [() -> Void] = []
    private var accepting = true
    private var paused = false
    private var admitWhilePaused = false
    private var stopped = false
    private var prefixCounts = (queries: 0, hits: 0)
    private var nextKey = 0
    private var nextJob = 0
    private var thread: Thread?
    private let finishedSignal = NSCondition()
    private var threadDone = false

    public init(decoder: BatchDecoder, maxQueue: Int) {
        self.decoder = decoder
        self.maxQueue = maxQueue
    }

    /// Rows waiting for a slot.
    public var queueDepth: Int { lock.withLock { waiting.count } }
    /// Rows in the running batch.
    public var runningCount: Int { lock.withLock { running.count } }
    /// Prompt tokens asked for, and those whose keys and values a slot already held (`BatchDecoder.prefixCaching`).
    public var prefixCacheCounts: (queries: Int, hits: Int) { lock.withLock { prefixCounts } }
    public var isAccepting: Bool { lock.withLock { accepting && !stopped } }

    /// Starts the engine thread.
    public func start() {
        let thread = Thread { [self] in loop() }
        thread.stackSize = 8 << 20
        thread.name = "tailor-engine"
        self.thread = thread
        thread.start()
    }

    /// Queues the rows of one request (its choices); their events arrive on the returned stream,
    /// which finishes once every row has finished or failed. Ending the stream's iteration cancels them.
    /// - Throws: `ServerError.queueFull` when the rows do not fit the queue, `.unavailable` while shutting down.
    public func submit(_ requests: [BatchRequest]) throws -> Submission {
        let (stream, continuation) = AsyncStream<EngineEvent>.makeStream()
        var keys: [Int] = []
        try lock.withLock {
            guard accepting, !stopped else { throw ServerError.unavailable("it is shutting down") }
            guard waiting.count + requests.count <= maxQueue else { throw ServerError.queueFull(limit: maxQueue) }
            let job = nextJob
            nextJob += 1
            for (choice, request) in requests.enumerated() {
                let key = nextKey
                nextKey += 1
                keys.append(key)
                waiting.append(Row(key: key, job: job, choice: choice, request: request, continuation: continuation))
            }
            lock.signal()
        }
        let rows = keys
        let flag = CancelFlag()
        continuation.onTermination = { [weak self] _ in self?.cancel(rows) }
        return Submission(events: stream, cancel: { [weak self] in
            flag.set()
            self?.cancel(rows)
            continuation.finish()   // whoever waits on the events stops now
        }, flag: flag)
    }

    /// The events of submitted rows, and how to drop them (a client that went away).
    public struct Submission: Sendable {
        public let events: AsyncStream<EngineEvent>
        /// Drops the rows (waiting ones at once, running ones before the next step) and ends `events`.
        public let cancel: @Sendable () -> Void
        let flag: CancelFlag
        /// Whether `cancel` was called (then `events` ended early).
        public var isCancelled: Bool { flag.isSet }
    }

    final class CancelFlag: @unchecked Sendable {
        private let lock = NSLock()
        private var value = false
        func set() { lock.withLock { value = true } }
        var isSet: Bool { lock.withLock { value } }
    }

    /// Drops rows (their client went away): waiting ones at once, running ones before the next step,
    /// even while paused.
    func cancel(_ keys: [Int]) {
        lock.withLock {
            let set = Set(keys)
            waiting.removeAll { set.contains($0.key) }
            // Running rows stop counting at once; the engine frees their slots before it admits or steps again.
            for key in keys where running.removeValue(forKey: key) != nil { cancelled.insert(key) }
            lock.signal()
        }
    }

    /// Runs `body` on the engine thread between steps (it may change the model's adapters).
    public func perform<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (result: CheckedContinuation<T, Error>) in
            lock.withLock {
                guard !stopped else {
                    result.resume(throwing: ServerError.unavailable("it is shutting down"))
                    return
                }
                commands.append { result.resume(with: Result { try body() }) }
                lock.signal()
            }
        }
    }

    /// Whether any waiting or running row uses adapter `name`.
    func uses(adapter name: String) -> Bool {
        lock.withLock { waiting.contains { $0.request.adapter == name } || running.values.contains { $0.request.adapter == name } }
    }

    /// Holds admission and decoding (rows stay queued or in their slots) until `resume`; adapter
    /// commands and cancellations still run. For maintenance and for tests that need a full queue.
    /// `admitting`: waiting rows still take free slots (their prompt is prefilled and their first token
    /// chosen) but no decode step runs, so a test can hold a request mid-answer.
    public func pause(admitting: Bool = false) {
        lock.withLock {
            paused = true
            admitWhilePaused = admitting
            lock.signal()
        }
    }

    public func resume() {
        lock.withLock {
            paused = false
            admitWhilePaused = false
            lock.signal()
        }
    }

    /// Refuses new requests (503); queued and running ones go on.
    public func stopAccepting() { lock.withLock { accepting = false } }

    /// Refuses new requests, lets every queued and running row finish, then ends the thread.
    public func shutdown() {
        lock.withLock {
            accepting = false
            stopped = true
            paused = false
            lock.signal()
        }
        finishedSignal.withLock {
            while !threadDone && thread != nil { finishedSignal.wait() }
        }
    }

    private func loop() {
        while true {
            var admit: [Row] = []
            var drop: [Int] = []
            var work: [() -> Void] = []
            let keepGoing: Bool = lock.withLock {
                func idle() -> Bool {
                    guard commands.isEmpty && cancelled.isEmpty && !stopped else { return false }
                    if paused { return !admitWhilePaused || waiting.isEmpty || running.count >= decoder.slotCount }
                    return waiting.isEmpty && running.isEmpty
                }
                while idle() { lock.wait() }
                if stopped && waiting.isEmpty && running.isEmpty && commands.isEmpty { return false }
                work = commands
                commands = []
                drop = Array(cancelled)
                cancelled = []
                let room = paused && !admitWhilePaused ? 0 : decoder.slotCount - running.count
                if room > 0 {
                    admit = Array(waiting.prefix(room))
                    waiting.removeFirst(admit.count)
                    for row in admit { running[row.key] = row }
                }
                return true
            }
            guard keepGoing else { break }
            for command in work { command() }
            if !work.isEmpty { decoder.forgetPrefixes() }  // a command may have changed an adapter's weights
            for key in drop { decoder.remove(id: key) }
            var events: [BatchEvent] = []
            for row in admit {
                do {
                    try decoder.admit(row.request, id: row.key)
                } catch {
                    _ = lock.withLock { running.removeValue(forKey: row.key) }
                    deliver(.failed(choice: row.choice, "\(error)"), to: row)
                }
            }
            if !admit.isEmpty {
                let counts = (decoder.promptTokens, decoder.reusedPromptTokens)
                lock.withLock { prefixCounts = counts }
            }
            if decoder.activeCount > 0 {
                // One forward: every decoding row's next token and the admitted prompts' next chunks. Paused while
                // admitting: prompts are prefilled and their first tokens chosen, but no row decodes.
                let holding = lock.withLock { paused }
                do {
                    if !holding {
                        events += try decoder.step()
                    } else {
                        while decoder.prefillingCount > 0 { events += try decoder.step(decoding: false) }
                    }
                } catch {
                    // The whole step failed: every running row ends with the error.
                    for key in decoder.activeIds {
                        decoder.remove(id: key)
                        events.append(.failed(request: key, .badParameter(name: "step", value: "", problem: "\(error)")))
                    }
                }
            }
            for event in events { dispatch(event) }
        }
        finishedSignal.withLock {
            threadDone = true
            finishedSignal.broadcast()
        }
    }

    private func dispatch(_ event: BatchEvent) {
        switch event {
        case let .token(key, id, text, logprobs):
            guard let row = lock.withLock({ running[key] }) else { return }
            row.continuation.yield(.token(choice: row.choice, id: id, text: text, logprobs: logprobs))
        case let .finished(key, result):
            guard let row = lock.withLock({ running.removeValue(forKey: key) }) else { return }
            deliver(.finished(choice: row.choice, result), to: row)
        case let .failed(key, error):
            guard let row = lock.withLock({ running.removeValue(forKey: key) }) else { return }
            deliver(.failed(choice: row.choice, "\(error)"), to: row)
        }
    }

    /// Sends a row's last event, and finishes the stream once no row of its job is left.
    private func deliver(_ event: EngineEvent, to row: Row) {
        row.continuation.yield(event)
        let others = lock.withLock { waiting.contains { $0.job == row.job } || running.values.contains { $0.job == row.job } }
        if !others { row.continuation.finish() }
    }
}
