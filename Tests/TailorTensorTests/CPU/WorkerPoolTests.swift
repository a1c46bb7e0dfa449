import Dispatch
import Synchronization
@testable import TailorTensor
import XCTest

/// The worker pool under the CPU kernels: every participant runs once per region, a region
/// started inside another or beside it from a second thread runs serially instead of waiting,
/// and many short regions back to back (what a training step does) neither hang nor lose work.
final class WorkerPoolTests: XCTestCase {
    func testEveryParticipantRunsOncePerRegion() {
        let pool = WorkerPool(size: 3)
        XCTAssertEqual(pool.size, 3)
        for _ in 0..<500 {
            let counts = (0..<pool.size).map { _ in Counter() }
            XCTAssertTrue(pool.run { participant in counts[participant].value.add(1, ordering: .relaxed) })
            XCTAssertEqual(counts.map { $0.value.load(ordering: .relaxed) }, [1, 1, 1])
        }
    }

    func testNestedRegionRunsSeriallyOnItsCaller() {
        let pool = WorkerPool(size: 2)
        let nestedRan = Counter(), nestedRefused = Counter()
        XCTAssertTrue(pool.run { _ in
            let counter = pool.run { _ in } ? nestedRan : nestedRefused
            counter.value.add(1, ordering: .relaxed)
        })
        XCTAssertEqual(nestedRan.value.load(ordering: .relaxed), 0)
        XCTAssertEqual(nestedRefused.value.load(ordering: .relaxed), 2)
    }

    func testParallelLoopsFromSeveralThreadsCoverEveryItemOnce() {
        let items = 10_000
        DispatchQueue.concurrentPerform(iterations: 4) { _ in
            for round in 0..<100 {
                let marks = UnsafeMutablePointer<Int32>.allocate(capacity: items)
                defer { marks.deallocate() }
                marks.initialize(repeating: 0, count: items)
                if round % 2 == 0 {
                    Parallel.forEachChunk(items, costPerItem: 1_000) { range in
                        for i in range { marks[i] += 1 }
                    }
                } else {
                    Parallel.forEach(items / 100) { block in
                        for i in (block * 100)..<((block + 1) * 100) { marks[i] += 1 }
                    }
                }
                let wrong = (0..<items).filter { marks[$0] != 1 }.count
                XCTAssertEqual(wrong, 0, "round \(round)")
            }
        }
    }
}

private final class Counter: Sendable {
    let value = Atomic<Int>(0)
}
