import Foundation

/// The mpirun command line `tailor launch` runs: N ranks of `tailor <command ...>`, on this machine or
/// the hosts given, with the flags Open MPI needs here (as root `--allow-run-as-root`; more ranks than
/// cores on one machine `--oversubscribe`). Each rank divides its machine's cores among the ranks
/// there (OMPI_COMM_WORLD_LOCAL_SIZE, read by the kernels' pool), so the workers do not oversubscribe.
public struct MPILaunch: Equatable {
    /// Ranks in all.
    public var processes: Int
    /// Hosts and their slots ("a:2", "b"); empty: this machine.
    public var hosts: [String] = []
    /// The program mpirun uses to reach other hosts (Open MPI's plm_rsh_agent, ssh by default).
    public var remoteShell: String?
    /// The tailor executable every rank runs.
    public var executable: URL
    /// What each rank runs after the executable (`train recipe.yaml ...`).
    public var arguments: [String]

    public init(processes: Int, hosts: [String] = [], remoteShell: String? = nil, executable: URL, arguments: [String]) {
        self.processes = processes
        self.hosts = hosts
        self.remoteShell = remoteShell
        self.executable = executable
        self.arguments = arguments
    }

    /// Checks what would make mpirun fail in a way harder to read.
    /// - Throws: `TrainingError.distributed` naming the option.
    public func validate() throws {
        guard processes >= 1 else { throw TrainingError.distributed("--nproc must be at least 1 (got \(processes))") }
        guard let command = arguments.first else {
            throw TrainingError.distributed("nothing to launch: give the command after --, e.g. `tailor launch --nproc 2 -- train recipe.yaml`")
        }
        guard command == "train" || arguments.prefix(2) == ["bench", "allreduce"] else {
            throw TrainingError.distributed("`tailor launch` runs `train` (or `bench allreduce`) on every rank (got `\(command)`); the other commands run in one process")
        }
        for host in hosts {
            let parts = host.split(separator: ":", omittingEmptySubsequences: false)
            guard !host.isEmpty, parts.count <= 2, !parts[0].isEmpty, parts.count == 1 || Int(parts[1]).map({ $0 > 0 }) == true else {
                throw TrainingError.distributed("--hosts: `\(host)` is not a host or host:slots (e.g. node1:2)")
            }
        }
    }

    /// mpirun's arguments (without mpirun itself), for a launcher running as `userID` on a machine of `cores` cores.
    public func mpirunArguments(userID: UInt32, cores: Int) -> [String] {
        var result: [String] = []
        if userID == 0 { result.append("--allow-run-as-root") }
        if hosts.isEmpty {
            if processes > cores { result.append("--oversubscribe") }
        } else {
            result += ["--host", hosts.joined(separator: ",")]
        }
        if let remoteShell { result += ["--mca", "plm_rsh_agent", remoteShell] }
        // Rank output goes through mpirun; each line keeps its own rank (rank 0 alone prints progress).
        result += ["-np", String(processes), executable.path] + arguments
        return result
    }

    /// mpirun on PATH (or `TAILOR_MPIRUN`).
    /// - Throws: `TrainingError.distributed` saying what to install when there is none.
    public static func findMPIRun(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> URL {
        if let given = environment["TAILOR_MPIRUN"], !given.isEmpty { return URL(fileURLWithPath: given) }
        for folder in (environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
            let candidate = URL(fileURLWithPath: String(folder)).appendingPathComponent("mpirun")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        }
        throw TrainingError.distributed("mpirun is not on PATH: install Open MPI (Debian: apt-get install openmpi-bin) or set TAILOR_MPIRUN")
    }
}
