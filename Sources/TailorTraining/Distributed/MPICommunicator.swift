import CMPI
import Foundation

/// The collectives on Open MPI's libmpi (`CMPI` loads it with dlopen), for processes started by
/// `mpirun` (or `tailor launch`, which runs it). Each collective is started non-blocking and polled
/// against `timeoutSeconds`, so a rank that died or hangs fails the others instead of hanging them.
public final class MPICommunicator: Communicator, @unchecked Sendable {
    public let rank: Int
    public let worldSize: Int
    public let localSize: Int
    public var timeoutSeconds: Double
    public let transport: String
    private var finished = false

    /// Where libmpi is looked for: TAILOR_LIBMPI alone when set, else Open MPI's soname (Debian's
    /// openmpi-bin / libopenmpi3), then the development link.
    static func libraryCandidates(_ environment: [String: String]) -> [String] {
        environment["TAILOR_LIBMPI"].map { [$0] } ?? ["libmpi.so.40", "libmpi.so"]
    }

    /// Loads libmpi and joins MPI_COMM_WORLD.
    /// - Throws: `TrainingError.distributed` when no libmpi loads (saying what to install) or MPI_Init fails.
    public init(environment: [String: String] = ProcessInfo.processInfo.environment, timeoutSeconds: Double = 1800) throws {
        var reasons: [String] = []
        var loaded = false
        for candidate in Self.libraryCandidates(environment) {
            if tailor_mpi_load(candidate) == 1 {
                loaded = true
                break
            }
            reasons.append(String(cString: tailor_mpi_error()))
        }
        guard loaded else {
            throw TrainingError.distributed("this process was started by mpirun but Open MPI's library cannot be loaded ("
                                            + reasons.joined(separator: "; ")
                                            + "); install Debian's openmpi-bin, or set TAILOR_LIBMPI to libmpi.so's path")
        }
        var rank: Int32 = 0, size: Int32 = 0
        let result = tailor_mpi_init(&rank, &size)
        guard result == 0 else {
            throw TrainingError.distributed("MPI_Init_thread failed: \(String(cString: tailor_mpi_error_string(result)))")
        }
        self.rank = Int(rank)  // allowed: Int32 -> Int widens
        worldSize = Int(size)  // allowed: Int32 -> Int widens
        localSize = max(1, environment["OMPI_COMM_WORLD_LOCAL_SIZE"].flatMap { Int($0) } ?? 1)  // allowed: a String parse (optional)
        self.timeoutSeconds = timeoutSeconds
        transport = String(cString: tailor_mpi_library_version())
    }

    /// Turns a shim result into an error naming the operation and this rank.
    private func check(_ result: Int32, _ label: String) throws {
        switch result {
        case 0:
            return
        case TAILOR_MPI_TIMEOUT:
            throw TrainingError.distributed("rank \(rank) of \(worldSize): \(label) did not complete within \(String(format: "%g", timeoutSeconds)) s"
                                            + " (ddp_timeout): \(missingRanks()); the job stops")
        case -2:
            throw TrainingError.internalError("an MPI collective was called before libmpi was loaded")
        default:
            throw TrainingError.distributed("rank \(rank) of \(worldSize): \(label) failed: \(String(cString: tailor_mpi_error_string(result)))")
        }
    }

    /// Who a timed-out collective waited for: rank 0 knows which ranks never reached it (each rank
    /// tells rank 0 the number of every collective it starts); another rank knows only that some did not.
    private func missingRanks() -> String {
        var ranks = [Int32](repeating: 0, count: min(worldSize, 16)), sequence: Int64 = 0
        let count = ranks.withUnsafeMutableBufferPointer { tailor_mpi_missing_ranks($0.baseAddress, Int32($0.count), &sequence) }  // allowed: at most 16
        guard count > 0 else {
            return worldSize == 2 ? "rank \(1 - rank), the other, died, hangs or runs a different recipe"
                : "another rank died, hangs or runs a different recipe (rank 0's error names it)"
        }
        let names = ranks.prefix(Int(count)).map { "rank \($0)" }.joined(separator: ", ")  // allowed: count is at most ranks.count
        return "\(names) never reached it (collective #\(sequence) of the run): "
            + (count == 1 ? "it died, hangs or runs a different recipe" : "they died, hang or run a different recipe")
    }

    public func allReduceSum(_ values: inout [Float], label: String) throws {
        let timeout = timeoutSeconds
        let result = values.withUnsafeMutableBufferPointer { tailor_mpi_allreduce_sum_f32($0.baseAddress, Int64($0.count), timeout) }  // allowed: Int -> Int64 widens
        try check(result, label)
    }

    public func allReduceSum(_ values: inout [Double], label: String) throws {
        let timeout = timeoutSeconds
        let result = values.withUnsafeMutableBufferPointer { tailor_mpi_allreduce_sum_f64($0.baseAddress, Int64($0.count), timeout) }  // allowed: Int -> Int64 widens
        try check(result, label)
    }

    public func reduceSum(_ values: inout [Float], root: Int, label: String) throws {
        let timeout = timeoutSeconds
        let result = values.withUnsafeMutableBufferPointer {
            tailor_mpi_reduce_sum_f32($0.baseAddress, Int64($0.count), Int32(clamping: root), timeout)  // allowed: Int -> Int64 widens
        }
        try check(result, label)
    }

    public func allGather(_ bytes: [UInt8], label: String) throws -> [[UInt8]] {
        var lengths = [Int64](repeating: 0, count: worldSize)
        try check(lengths.withUnsafeMutableBufferPointer { tailor_mpi_allgather_i64(Int64(bytes.count), $0.baseAddress, timeoutSeconds) },  // allowed: Int -> Int64 widens
                  label + " (lengths)")
        let total = lengths.reduce(0, +)
        guard total <= Int64(Int32.max) else { throw TrainingError.distributed("rank \(rank): \(label) gathers more than 2 GiB") }
        let counts = lengths.map { Int32(clamping: $0) }  // each is at most the total, which fits an Int32
        var displacements = [Int32](repeating: 0, count: worldSize)
        for index in 1..<max(1, worldSize) { displacements[index] = displacements[index - 1] + counts[index - 1] }
        var gathered = [UInt8](repeating: 0, count: Int(total))  // allowed: total is checked to fit an Int32 above
        let timeout = timeoutSeconds
        let result = bytes.withUnsafeBytes { send in
            gathered.withUnsafeMutableBytes { receive in
                counts.withUnsafeBufferPointer { countPointer in
                    displacements.withUnsafeBufferPointer { displacementPointer in
                        tailor_mpi_allgatherv_bytes(send.baseAddress, Int32(bytes.count), receive.baseAddress,  // allowed: bytes.count is one of the gathered counts, each checked to fit an Int32
                                                    countPointer.baseAddress, displacementPointer.baseAddress, timeout)
                    }
                }
            }
        }
        try check(result, label)
        return (0..<worldSize).map { index in
            let start = Int(displacements[index]), end = start + Int(counts[index])  // allowed: Int32 -> Int widens
            return Array(gathered[start..<end])
        }
    }

    public func broadcast(_ values: inout [Float], root: Int, label: String) throws {
        let timeout = timeoutSeconds
        let result = values.withUnsafeMutableBytes { tailor_mpi_bcast_bytes($0.baseAddress, Int64($0.count), Int32(clamping: root), timeout) }  // allowed: Int -> Int64 widens
        try check(result, label)
    }

    public func barrier(label: String) throws {
        try check(tailor_mpi_barrier(timeoutSeconds), label)
    }

    public func abort(code: Int32) { tailor_mpi_abort(code) }

    public func finish() {
        guard !finished else { return }
        finished = true
        _ = tailor_mpi_finalize()
    }
}
