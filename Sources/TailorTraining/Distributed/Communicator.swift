/// The collectives data-parallel training needs, over the processes ("ranks") of one job. Every
/// rank calls the same collectives in the same order; each call either completes on every rank or
/// fails on each within `timeoutSeconds` (a rank that died or hangs), naming what it was doing.
///
/// `SingleProcess` is the world of one; `MPICommunicator` runs the collectives on Open MPI, for
/// processes started by `mpirun` on one machine or many.
public protocol Communicator: AnyObject, Sendable {
    /// This process's place in the job, 0 ..< worldSize. Rank 0 writes the run's files.
    var rank: Int { get }
    var worldSize: Int { get }
    /// Ranks on this machine (the kernels' threads are the cores divided among them).
    var localSize: Int { get }
    /// How long a collective may wait for the other ranks (transformers' ddp_timeout).
    var timeoutSeconds: Double { get set }
    /// What carries the collectives ("single process", "Open MPI v4.1.4").
    var transport: String { get }

    /// Every rank's `values` replaced by their sum over ranks. `label` names the operation in errors.
    func allReduceSum(_ values: inout [Float], label: String) throws
    func allReduceSum(_ values: inout [Double], label: String) throws
    /// The sum over ranks of `values`, on rank `root` (the others' values are left as they were).
    func reduceSum(_ values: inout [Float], root: Int, label: String) throws
    /// Every rank's bytes, in rank order (the lengths may differ).
    func allGather(_ bytes: [UInt8], label: String) throws -> [[UInt8]]
    /// Rank `root`'s `values` on every rank (the others' must have the same count).
    func broadcast(_ values: inout [Float], root: Int, label: String) throws
    func barrier(label: String) throws
    /// Ends every rank of the job at once (after an error on this one that the others cannot see).
    func abort(code: Int32)
    /// Leaves the job cleanly (MPI_Finalize); the last call a rank makes.
    func finish()
}

extension Communicator {
    public var isDistributed: Bool { worldSize > 1 }
    /// Rank 0: the one that writes sinks, checkpoints and the trained weights.
    public var isMain: Bool { rank == 0 }
}

/// The world of one process: every collective is the identity.
public final class SingleProcess: Communicator, @unchecked Sendable {
    public init() {}
    public var rank: Int { 0 }
    public var worldSize: Int { 1 }
    public var localSize: Int { 1 }
    public var timeoutSeconds: Double = .infinity
    public var transport: String { "single process" }
    public func allReduceSum(_ values: inout [Float], label: String) throws {}
    public func allReduceSum(_ values: inout [Double], label: String) throws {}
    public func reduceSum(_ values: inout [Float], root: Int, label: String) throws {}
    public func allGather(_ bytes: [UInt8], label: String) throws -> [[UInt8]] { [bytes] }
    public func broadcast(_ values: inout [Float], root: Int, label: String) throws {}
    public func barrier(label: String) throws {}
    public func abort(code: Int32) {}
    public func finish() {}
}
