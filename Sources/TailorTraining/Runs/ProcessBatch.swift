import Foundation

/// Runs jobs (processes) a given number at a time, each one's standard output and error into its own
/// log file, in the order given: `tailor sweep --parallel N` starts its runs this way, each a
/// `tailor train` process of its own (its own memory, peak RSS, lock and Ctrl-C handling).
/// Each job is a process group of its own (Foundation's Process makes it one), so a terminal's Ctrl-C
/// reaches only this process: `interrupt()` passes it on.
public final class ProcessBatch: @unchecked Sendable {
    public struct Job: Sendable {
        public var name: String
        public var executable: URL
        public var arguments: [String]
        /// Added to this process's environment.
        public var environment: [String: String]
        public var log: URL

        public init(name: String, executable: URL, arguments: [String], environment: [String: String] = [:], log: URL) {
            self.name = name
            self.executable = executable
            self.arguments = arguments
            self.environment = environment
            self.log = log
        }
    }

    public struct Outcome: Sendable, Equatable {
        public var name: String
        /// The exit status; 128 + the signal's number when a signal ended it (as a shell reports it).
        public var status: Int32
        public var seconds: Double
    }

    public enum Event: Sendable {
        case started(Job, pid: Int32)
        case ended(Job, Outcome)
    }

    public let jobs: [Job]
    public let atOnce: Int
    private let lock = NSLock()
    private var running: Set<Int32> = []
    private var stopped = false

    public init(_ jobs: [Job], atOnce: Int) {
        self.jobs = jobs
        self.atOnce = max(1, atOnce)
    }

    /// Sends SIGINT to every running job and starts no more (`run` still waits for the running ones).
    /// Safe to call from any thread, e.g. a signal handler's queue.
    public func interrupt() {
        lock.lock()
        stopped = true
        let pids = running
        lock.unlock()
        for pid in pids { kill(pid, SIGINT) }
    }

    /// Whether `interrupt()` was called.
    public var isInterrupted: Bool {
        lock.lock()
        defer { lock.unlock() }
        return stopped
    }

    /// Starts the jobs, at most `atOnce` running together, and waits for every one (after
    /// `interrupt()`, only for those running). Returns the outcomes of the jobs that ran, in the
    /// order they ended.
    /// - Throws: `TrainingError.unwritableFolder` when a log file cannot be made; a job that cannot
    ///   start is an outcome with status 127, its reason in its log.
    public func run(events: (Event) -> Void) throws -> [Outcome] {
        let ended = DispatchSemaphore(value: 0)
        let finished = EndedJobs()
        var outcomes: [Outcome] = []
        var active = 0
        var next = 0
        func collect() {
            ended.wait()
            let done = finished.take()
            for (job, outcome) in done {
                active -= 1
                outcomes.append(outcome)
                events(.ended(job, outcome))
            }
        }
        while next < jobs.count || active > 0 {
            if next < jobs.count, active < atOnce, !isInterrupted {
                let job = jobs[next]
                next += 1
                let log = try Self.openLog(job.log)
                let process = Process()
                process.executableURL = job.executable
                process.arguments = job.arguments
                process.environment = ProcessInfo.processInfo.environment.merging(job.environment) { _, given in given }
                process.standardOutput = log
                process.standardError = log
                process.standardInput = FileHandle.nullDevice
                let start = Date()
                process.terminationHandler = { [self] process in
                    lock.lock()
                    running.remove(process.processIdentifier)
                    lock.unlock()
                    let status = process.terminationReason == .uncaughtSignal ? 128 + process.terminationStatus : process.terminationStatus
                    finished.add(job, Outcome(name: job.name, status: status, seconds: Date().timeIntervalSince(start)))
                    try? log.close()
                    ended.signal()
                }
                active += 1
                do {
                    try launch(process)
                    events(.started(job, pid: process.processIdentifier))
                } catch {
                    log.write(Data("cannot start \(job.executable.path): \(error.localizedDescription)\n".utf8))
                    try? log.close()
                    finished.add(job, Outcome(name: job.name, status: 127, seconds: 0))
                    ended.signal()
                }
            } else if active > 0 {
                collect()
            } else {
                break  // asked to stop, nothing running
            }
        }
        return outcomes
    }

    /// Starts `process` with the lock held, so its termination handler removes its pid only after it is added.
    private func launch(_ process: Process) throws {
        lock.lock()
        defer { lock.unlock() }
        try process.run()
        running.insert(process.processIdentifier)
    }

    static func openLog(_ url: URL) throws -> FileHandle {
        do {
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            guard FileManager.default.createFile(atPath: url.path, contents: nil) else {
                throw CocoaError(.fileWriteNoPermission)
            }
            return try FileHandle(forWritingTo: url)
        } catch {
            throw TrainingError.unwritableFolder(key: "log", path: url.path, reason: error.localizedDescription)
        }
    }
}

/// Jobs that ended and are not yet reported: filled by termination handlers, taken by the waiting loop.
private final class EndedJobs: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [(ProcessBatch.Job, ProcessBatch.Outcome)] = []

    func add(_ job: ProcessBatch.Job, _ outcome: ProcessBatch.Outcome) {
        lock.lock()
        items.append((job, outcome))
        lock.unlock()
    }

    func take() -> [(ProcessBatch.Job, ProcessBatch.Outcome)] {
        lock.lock()
        defer { items.removeAll(); lock.unlock() }
        return items
    }
}
