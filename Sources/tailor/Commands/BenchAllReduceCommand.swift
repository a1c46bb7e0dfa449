import ArgumentParser
import Foundation
import TailorTraining

struct BenchAllReduceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "allreduce",
        abstract: "Time the data-parallel all-reduce: run it under tailor launch (or mpirun) to measure the link between the ranks.",
        discussion: """
        Every rank sums float buffers of each size in place with the communicator training uses (Open MPI's
        non-blocking all-reduce, polled against the timeout), after a barrier; it prints, per size, the
        slowest rank's median time, the algorithm bandwidth (bytes / time) and the bus bandwidth
        (× 2(n − 1)/n), as nccl-tests report them, and one JSON line. The sums are checked.
          tailor launch --nproc 2 -- bench allreduce
        """
    )

    @Option(parsing: .unconditional, help: ArgumentHelp("Buffer sizes in floats, comma-separated.", valueName: "N,N,..."))
    var sizes: String = "1024,16384,262144,4194304,16777216"

    @Option(parsing: .unconditional, help: "Timed sums per size (after 3 warm-up sums); the median is reported.")
    var iterations: Int = 20

    func run() throws {
        let sizes = try self.sizes.split(separator: ",").map { text -> Int in
            guard let size = Int(text.trimmingCharacters(in: .whitespaces)), size > 0 else {  // allowed: a String parse (optional)
                throw ValidationError("--sizes: `\(text)` is not a positive count of floats")
            }
            return size
        }
        guard iterations > 0 else { throw ValidationError("--iterations must be at least 1") }
        let world = try ProcessWorld.join(timeoutSeconds: 600)
        defer { world.finish() }
        let rows = try AllReduceBenchmark(sizes: sizes, iterations: iterations).run(on: world)
        guard world.isMain else { return }
        print("all-reduce over \(world.worldSize) rank\(world.worldSize == 1 ? "" : "s") (\(world.transport)), \(world.localSize) on this machine")
        print("floats        bytes    median µs   algbw GB/s   busbw GB/s")
        for row in rows {
            print(String(format: "%-10d %10d %12.1f %12.3f %12.3f", row.floats, row.bytes, row.seconds * 1e6, row.algorithmGBps, row.busGBps(worldSize: world.worldSize)))
        }
        let json = rows.map { String(format: #"{"floats": %d, "seconds": %.9f, "algbw_gbps": %.6f, "busbw_gbps": %.6f}"#,
                                     $0.floats, $0.seconds, $0.algorithmGBps, $0.busGBps(worldSize: world.worldSize)) }
        print(#"{"bench": "allreduce", "ranks": \#(world.worldSize), "rows": [\#(json.joined(separator: ", "))]}"#)
    }
}
