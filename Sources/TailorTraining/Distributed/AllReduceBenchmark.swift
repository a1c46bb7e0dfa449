import Foundation
import TailorTensor

/// Times `Communicator.allReduceSum` of float buffers, as nccl-tests and the OSU benchmarks report
/// it: per size, the median seconds of `iterations` in-place sums (after `warmup`), the algorithm
/// bandwidth (bytes / time) and the bus bandwidth (× 2(n − 1)/n, what each link carries in a ring).
public struct AllReduceBenchmark: Sendable {
    public struct Row: Sendable, Equatable {
        public var floats: Int
        public var seconds: Double
        public var bytes: Int { floats * MemoryLayout<Float>.size }
        public var algorithmGBps: Double { Double(bytes) / seconds / 1e9 }
        public func busGBps(worldSize: Int) -> Double { algorithmGBps * 2 * Double(worldSize - 1) / Double(max(worldSize, 1)) }
    }

    public var sizes: [Int]
    public var iterations: Int
    public var warmup: Int

    public init(sizes: [Int] = [1 << 10, 1 << 14, 1 << 18, 1 << 22, 1 << 24], iterations: Int = 20, warmup: Int = 3) {
        self.sizes = sizes
        self.iterations = iterations
        self.warmup = warmup
    }

    /// Every rank runs it; the result (the slowest rank's median per size) is the same on each.
    /// The sums are checked: every element must be the sum of the ranks' numbers.
    public func run(on communicator: Communicator) throws -> [Row] {
        try sizes.map { floats in
            var buffer = [Float](repeating: 0, count: floats)
            var times: [Double] = []
            for iteration in 0..<(warmup + iterations) {
                for index in buffer.indices { buffer[index] = Float(communicator.rank + 1) }
                try communicator.barrier(label: "the all-reduce benchmark's barrier")
                let start = monotonicSeconds()
                try communicator.allReduceSum(&buffer, label: "the all-reduce benchmark (\(floats) floats)")
                let seconds = monotonicSeconds() - start
                if iteration >= warmup { times.append(seconds) }
            }
            let expected = Float(communicator.worldSize * (communicator.worldSize + 1) / 2)
            guard buffer.allSatisfy({ $0 == expected }) else {
                throw TrainingError.distributed("the all-reduce of \(floats) floats summed wrong on rank \(communicator.rank) (expected \(expected) everywhere)")
            }
            // The slowest rank's median: a collective is as fast as its slowest member.
            var medians = [Double](repeating: 0, count: communicator.worldSize)
            medians[communicator.rank] = times.sorted()[times.count / 2]
            try communicator.allReduceSum(&medians, label: "the all-reduce benchmark's timings")
            return Row(floats: floats, seconds: medians.max() ?? 0)
        }
    }
}
