import Dispatch

/// Row-parallel loops for the CPU kernels.
enum Parallel {
    /// Worker count: all cores unless TAILOR_NUM_THREADS says otherwise.
    static let workerCount: Int = {
        if let text = getenvString("TAILOR_NUM_THREADS"), let n = Int(text), n > 0 { return n }
        return max(1, systemCoreCount())
    }()

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
        withoutActuallyEscaping(body) { escapable in
            // The chunks write disjoint outputs; the closure does not outlive this call.
            nonisolated(unsafe) let body = escapable
            DispatchQueue.concurrentPerform(iterations: workers) { w in
                let start = w * chunk
                let end = min(count, start + chunk)
                if start < end { body(start..<end) }
            }
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
        withoutActuallyEscaping(body) { escapable in
            nonisolated(unsafe) let body = escapable
            DispatchQueue.concurrentPerform(iterations: count) { i in body(i) }
        }
    }
}
