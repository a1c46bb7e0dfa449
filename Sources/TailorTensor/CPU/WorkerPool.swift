import Dispatch
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A fixed set of worker threads that run one parallel region at a time, for the CPU kernels.
///
/// A training step or a prefill runs hundreds of short parallel regions back to back (a GEMM, a
/// norm, an add), each a few hundred microseconds. Waking parked threads for each one costs tens
/// of microseconds, so workers spin briefly after a region before they park, and the next region
/// finds them awake. The caller is participant 0; workers are participants 1..<size.
///
/// One region runs at a time: a region started while another runs (a nested call from inside a
/// body, or a second thread) runs serially on its caller, so callers never wait on each other
/// and never deadlock. Which participant runs which piece is the caller's business (static
/// chunks or an item counter); the pool only runs `body(participant)` once per participant.
final class WorkerPool: @unchecked Sendable {
    /// Participants, the caller included (fewer than asked for if a thread could not start).
    private(set) var size: Int
    /// Spin iterations (atomic loads) before a worker parks: roughly 100–300 µs, plus the yields below
    /// (each returns at once when no other thread wants the core).
    private static let spinLimit = 100_000
    /// Spins before a waiting worker starts offering its core to other threads, and how often it offers.
    private static let yieldAfter = 2_000, yieldEvery = 256

    /// Bumped once per region; workers wait for it to change.
    private let generation = Atomic<Int>(0)
    /// Workers that have not finished the current region.
    private let pending = Atomic<Int>(0)
    /// Whether a region is running (the try-lock that makes concurrent regions serial).
    private let busy = Atomic<Bool>(false)
    /// Per worker: whether it is parked (or about to park) and the semaphore that wakes it.
    private let workers: [Parking]
    /// The current region's body; written before `generation` is bumped, read after it is seen.
    nonisolated(unsafe) private var body: ((Int) -> Void)?

    init(size: Int) {
        let wanted = max(1, size)
        workers = (1..<max(2, wanted)).map { _ in Parking() }
        self.size = 1
        for participant in 1..<wanted {
            guard startWorker(participant) else { break }
            self.size = participant + 1
        }
    }

    /// Runs `work(p)` for every participant p in 0..<size, the caller as p = 0, and returns when
    /// all have finished. Returns false without running anything when another region is running
    /// (the caller then runs the work itself, serially).
    func run(_ work: (Int) -> Void) -> Bool {
        guard size > 1, busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged else {
            return false
        }
        withoutActuallyEscaping(work) { escapable in
            body = escapable
            pending.store(size - 1, ordering: .relaxed)
            generation.add(1, ordering: .sequentiallyConsistent)
            for worker in workers where worker.parked.load(ordering: .sequentiallyConsistent) {
                worker.wakeup.signal()
            }
            escapable(0)
            var spins = 0
            while pending.load(ordering: .acquiring) > 0 {
                spins += 1
                if spins > 1_000 { sched_yield() }
            }
            body = nil
        }
        busy.store(false, ordering: .releasing)
        return true
    }

    /// Starts worker `participant` on a detached pthread that runs its loop for the life of the
    /// process; false when the thread could not be created.
    private func startWorker(_ participant: Int) -> Bool {
        let start = Unmanaged.passRetained(WorkerStart(participant: participant, pool: self))
        var handle = pthread_t()
        let status = pthread_create(&handle, nil, { raw in
            guard let raw else { return nil }
            let start = Unmanaged<WorkerStart>.fromOpaque(raw).takeRetainedValue()
            start.pool.workerLoop(start.participant)
            return nil
        }, start.toOpaque())
        guard status == 0 else {
            start.release()
            return false
        }
        pthread_detach(handle)
        return true
    }

    /// The loop of worker `participant`: wait for a new region, run its piece, report done.
    fileprivate func workerLoop(_ participant: Int) {
        let parking = workers[participant - 1]
        // Regions are counted from the pool's creation: one published before this thread got
        // going must still run here, so start from 0, not from the current count.
        var seen = 0
        while true {
            var spins = 0
            while generation.load(ordering: .acquiring) == seen {
                spins += 1
                // Past the first stretch, let any other runnable thread on this core go first (a server's
                // event loop, its clients): sched_yield returns at once when there is none.
                if spins > Self.yieldAfter && spins % Self.yieldEvery == 0 { sched_yield() }
                guard spins > Self.spinLimit else { continue }
                parking.parked.store(true, ordering: .sequentiallyConsistent)
                if generation.load(ordering: .sequentiallyConsistent) == seen { parking.wakeup.wait() }
                parking.parked.store(false, ordering: .sequentiallyConsistent)
                spins = 0
            }
            seen = generation.load(ordering: .acquiring)
            body?(participant)
            pending.subtract(1, ordering: .releasing)
        }
    }

    private final class Parking: Sendable {
        let parked = Atomic<Bool>(false)
        let wakeup = DispatchSemaphore(value: 0)
    }

    /// What a new worker thread needs, passed through pthread_create's argument.
    private final class WorkerStart {
        let participant: Int
        let pool: WorkerPool
        init(participant: Int, pool: WorkerPool) {
            self.participant = participant
            self.pool = pool
        }
    }
}
