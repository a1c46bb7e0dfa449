import Synchronization

/// Row-parallel loops for the CPU kernels, run on one `WorkerPool`.
enum Parallel {
    /// The pool: all cores unless TAILOR_NUM_THREADS says otherwise; in a process of an mpirun job
    /// (OMPI_COMM_WORLD_LOCAL_SIZE ranks on this machine), the cores divided among its ranks, so the
    /// spinning workers of several ranks do not oversubscribe the machine.
    static let pool: WorkerPool = {
        if let text = getenvString("TAILOR_NUM_THREADS"), let n = Int(text), n > 0 { return WorkerPool(size: n) }
        let localRanks = getenvString("OMPI_COMM_WORLD_LOCAL_SIZE").flatMap { Int($0) } ?? 1  // allowed: a String parse (optional)
        return WorkerPool(size: max(1, systemCoreCount() / max(1, localRanks)))
    }()

    /// Worker count (the pool's size).
    static var workerCount: Int { pool.size }

    /// Runs `body` over `0..<count` split into contiguous chunks, one per worker, when the work
    /// (count × costPerItem, in rough flops) is large enough to pay for threads.
    /// The split depends only on `count` and `workerCount`, so results are reproducible.
    /// A `costPerItem` of 0 runs serially on the calling thread.
    static func forEachChunk(_ count: Int, costPerItem: Int = 1, _ body: (Range<Int>) -> Void) {
        guard count > 0 else { return }
        let workers = min(workerCount, count)
        if workers <= 1 || costPerItem <= 0 || count.multipliedReportingOverflow(by: costPerItem).partialValue < 32_768 {
            body(0..<count)
            return
        }
        let chunk = (count + workers - 1) / workers
        // Chunk w; the chunks write disjoint outputs. Participants beyond `workers` have none.
        func piece(_ w: Int) {
            let start = w * chunk, end = min(count, w * chunk + chunk)
            if start < end { body(start..<end) }
        }
        if !pool.run(piece) {
            // Another region is running (a nested call): the same chunks, one after another.
            for w in 0..<workers { piece(w) }
        }
    }

    /// Runs `body(i)` for every i in `0..<count`, items handed out dynamically (for uneven work
    /// such as attention heads of sequences of different lengths). Each item must write only its
    /// own outputs, so results do not depend on scheduling.
    static func forEach(_ count: Int, _ body: (Int) -> Void) {
        guard count > 0 else { return }
        if workerCount <= 1 || count == 1 {
            for i in 0..<count { body(i) }
            return
        }
        let next = Atomic<Int>(0)
        let ran = pool.run { _ in
            while true {
                let i = next.wrappingAdd(1, ordering: .relaxed).oldValue
                guard i < count else { return }
                body(i)
            }
        }
        if !ran { for i in 0..<count { body(i) } }
    }
}
