import Foundation

/// The job this process belongs to, read from what its launcher set: Open MPI's mpirun sets
/// OMPI_COMM_WORLD_SIZE / _RANK / _LOCAL_SIZE in every rank.
public enum ProcessWorld {
    /// The communicator for this process: MPI when mpirun started it with more than one rank,
    /// else the world of one.
    /// - Throws: `TrainingError.distributed` for a launcher Tailor cannot join (torchrun's
    ///   WORLD_SIZE without mpirun, another MPI than Open MPI), or an mpirun job whose libmpi does not load.
    public static func join(environment: [String: String] = ProcessInfo.processInfo.environment,
                            timeoutSeconds: Double = 1800) throws -> Communicator {
        if let size = environment["OMPI_COMM_WORLD_SIZE"].flatMap({ Int($0) }) {  // allowed: a String parse (optional)
            return size > 1 ? try MPICommunicator(environment: environment, timeoutSeconds: timeoutSeconds) : SingleProcess()
        }
        if let size = environment["PMI_SIZE"].flatMap({ Int($0) }), size > 1 {  // allowed: a String parse (optional)
            throw TrainingError.distributed("this process was started by an MPI launcher other than Open MPI's (PMI_SIZE=\(size));"
                                            + " Tailor speaks Open MPI's ABI: start it with Open MPI's mpirun or `tailor launch`")
        }
        if let size = environment["WORLD_SIZE"].flatMap({ Int($0) }), size > 1 {  // allowed: a String parse (optional)
            throw TrainingError.distributed("WORLD_SIZE=\(size) asks for torchrun's rendezvous (MASTER_ADDR / MASTER_PORT), which is not built yet;"
                                            + " start the ranks with `tailor launch --nproc \(size) -- train ...` or `mpirun -np \(size) tailor train ...`")
        }
        return SingleProcess()
    }
}
