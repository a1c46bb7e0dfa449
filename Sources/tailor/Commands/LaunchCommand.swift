import ArgumentParser
import Foundation
import TailorTensor
import TailorTraining

struct LaunchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "launch",
        abstract: "Train data parallel: run `tailor train` as N ranks under Open MPI's mpirun, on this machine or several.",
        usage: "tailor launch --nproc N [--hosts HOST[:SLOTS],...] [--rsh-agent CMD] -- train [config.yaml] [--<option> <value> ...]",
        discussion: """
        Every rank runs the same recipe and takes its share of each step: rank r runs the micro-batches
        r, r + N, ... of the step's per_device_train_batch_size × gradient_accumulation_steps × N rows.
        The gradients are summed over the ranks, the loss is normalised by the label tokens of the
        whole step, and every rank takes the same optimizer step: N ranks with
        gradient_accumulation_steps G train as one process with G × N does. Rank 0 alone prints and
        writes metrics, checkpoints and the trained weights; a checkpoint resumes with any number of
        ranks. Each rank's kernels use its machine's cores divided among the ranks there. A collective
        that waits longer than ddp_timeout seconds (1800) for another rank stops every rank, and rank 0
        names the ranks that never reached it.
        This runs mpirun (PATH, or TAILOR_MPIRUN), with --allow-run-as-root when run as root and
        --oversubscribe for more ranks than cores; `mpirun -np N tailor train ...` works as well. The
        first Ctrl-C makes every rank stop after the same step with a checkpoint. --hosts runs the
        ranks on those machines (Open MPI's --host; each needs the same tailor binary, model and data
        paths, and output_dir on a shared file system to resume); --rsh-agent sets the program that
        reaches them (Open MPI's plm_rsh_agent; ssh by default).
          tailor launch --nproc 2 -- train recipe.yaml
          tailor launch --nproc 4 --hosts node1:2,node2:2 -- train recipe.yaml
        """
    )

    @Option(name: .customLong("nproc"), help: "Ranks in all (processes).")
    var processes: Int

    @Option(help: ArgumentHelp("Hosts to run on, with their slots (Open MPI's --host); default: this machine.", valueName: "HOST[:SLOTS],..."))
    var hosts: String?

    @Option(name: .customLong("rsh-agent"), help: ArgumentHelp("The program mpirun reaches other hosts with (default: ssh).", valueName: "CMD"))
    var rshAgent: String?

    @Argument(parsing: .postTerminator, help: ArgumentHelp("The command each rank runs: train and its options (or bench allreduce).", valueName: "train ..."))
    var command: [String] = []

    func run() throws {
        let launch = MPILaunch(processes: processes, hosts: hosts.map { $0.split(separator: ",").map(String.init) } ?? [],
                               remoteShell: rshAgent, executable: URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath(),
                               arguments: command)
        do { try launch.validate() } catch { throw ValidationError("\(error)") }
        let mpirun = try MPILaunch.findMPIRun()
        let arguments = [mpirun.path] + launch.mpirunArguments(userID: getuid(), cores: CPUReport.current().onlineCores)
        // The first Ctrl-C reaches every rank as SIGUSR1 (mpirun passes that signal on; its own SIGINT
        // kills the ranks): they stop after the same step with a checkpoint. A second one, or SIGTERM, ends the job.
        let stop = StopRequest()
        var pid: pid_t = 0
        let sources = [SIGINT, SIGTERM].map { number in
            signal(number, SIG_IGN)  // delivered to the source instead
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler {
                guard pid > 0 else { return }
                let again = number == SIGTERM || stop.request()
                kill(pid, again ? SIGTERM : SIGUSR1)
                if !again { printError("\ninterrupt: every rank stops after this step to save a checkpoint (Ctrl-C again ends the job at once)") }
            }
            source.resume()
            return source
        }
        pid = try Self.spawn(arguments)
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        sources.forEach { $0.cancel() }
        let code = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)  // WEXITSTATUS, or 128 + the signal
        guard code == 0 else { throw ExitCode(code) }
    }

    /// Starts `arguments[0]` with every signal unblocked and at its default action: mpirun must see
    /// the SIGUSR1 it forwards (Foundation's Process passes on the spawning thread's blocked signals).
    static func spawn(_ arguments: [String]) throws -> pid_t {
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var none = sigset_t(), all = sigset_t()
        sigemptyset(&none)
        sigfillset(&all)
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setsigdefault(&attributes, &all)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))  // allowed: two flag bits (8 and 4)
        var pid: pid_t = 0
        let argv = arguments.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        let result = posix_spawn(&pid, arguments[0], nil, &attributes, argv, environ)
        guard result == 0 else { throw ValidationError("cannot start \(arguments[0]): \(String(cString: strerror(result)))") }
        return pid
    }
}
