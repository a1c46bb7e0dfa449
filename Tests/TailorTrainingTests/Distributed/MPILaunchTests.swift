import Foundation
@testable import TailorTraining
import XCTest

/// The mpirun command line `tailor launch` builds, and what it refuses before starting mpirun.
final class MPILaunchTests: XCTestCase {
    let tailor = URL(fileURLWithPath: "/opt/tailor/bin/tailor")

    func testTheCommandLineAddsTheFlagsThisMachineNeeds() throws {
        let launch = MPILaunch(processes: 4, executable: tailor, arguments: ["train", "recipe.yaml", "--seed", "3"])
        try launch.validate()
        XCTAssertEqual(launch.mpirunArguments(userID: 0, cores: 2),
                       ["--allow-run-as-root", "--oversubscribe", "-np", "4", "/opt/tailor/bin/tailor", "train", "recipe.yaml", "--seed", "3"])
        XCTAssertEqual(launch.mpirunArguments(userID: 1000, cores: 8), ["-np", "4", "/opt/tailor/bin/tailor", "train", "recipe.yaml", "--seed", "3"])
        let hosts = MPILaunch(processes: 2, hosts: ["node1:1", "node2"], remoteShell: "/usr/local/bin/netns-rsh", executable: tailor,
                              arguments: ["train", "r.yaml"])
        try hosts.validate()
        XCTAssertEqual(hosts.mpirunArguments(userID: 1000, cores: 1),
                       ["--host", "node1:1,node2", "--mca", "plm_rsh_agent", "/usr/local/bin/netns-rsh", "-np", "2", "/opt/tailor/bin/tailor", "train", "r.yaml"])
    }

    func testWhatCannotLaunchIsRefusedNamingTheOption() {
        func message(_ launch: MPILaunch) -> String {
            do { try launch.validate() } catch { return "\(error)" }
            return "accepted"
        }
        XCTAssertTrue(message(MPILaunch(processes: 0, executable: tailor, arguments: ["train"])).contains("--nproc must be at least 1"))
        XCTAssertTrue(message(MPILaunch(processes: 2, executable: tailor, arguments: [])).contains("give the command after --"))
        XCTAssertTrue(message(MPILaunch(processes: 2, executable: tailor, arguments: ["serve"])).contains("runs `train` (or `bench allreduce`) on every rank (got `serve`)"))
        XCTAssertNoThrow(try MPILaunch(processes: 2, executable: tailor, arguments: ["bench", "allreduce", "--iterations", "3"]).validate())
        XCTAssertTrue(message(MPILaunch(processes: 2, hosts: ["a:x"], executable: tailor, arguments: ["train"])).contains("`a:x` is not a host or host:slots"))
        XCTAssertTrue(message(MPILaunch(processes: 2, hosts: [":2"], executable: tailor, arguments: ["train"])).contains("is not a host"))
    }

    func testMissingMPIRunSaysWhatToInstall() {
        XCTAssertThrowsError(try MPILaunch.findMPIRun(environment: ["PATH": "/nonexistent"])) { error in
            XCTAssertTrue("\(error)".contains("apt-get install openmpi-bin"), "\(error)")
        }
        XCTAssertEqual(try MPILaunch.findMPIRun(environment: ["TAILOR_MPIRUN": "/x/mpirun"]).path, "/x/mpirun")
    }

    func testAProcessNotStartedByMPIRunIsTheWorldOfOne() throws {
        let world = try ProcessWorld.join(environment: [:])
        XCTAssertEqual(world.worldSize, 1)
        XCTAssertTrue(world is SingleProcess)
        XCTAssertEqual(try ProcessWorld.join(environment: ["OMPI_COMM_WORLD_SIZE": "1"]).worldSize, 1)
        XCTAssertThrowsError(try ProcessWorld.join(environment: ["WORLD_SIZE": "2", "RANK": "0"])) { error in
            XCTAssertTrue("\(error)".contains("torchrun's rendezvous"), "\(error)")
        }
        XCTAssertThrowsError(try ProcessWorld.join(environment: ["PMI_SIZE": "2"])) { error in
            XCTAssertTrue("\(error)".contains("other than Open MPI's"), "\(error)")
        }
        // mpirun's variables with no loadable libmpi: the error says what to install (TAILOR_LIBMPI, when set, is the only candidate).
        XCTAssertThrowsError(try ProcessWorld.join(environment: ["TAILOR_LIBMPI": "/nonexistent/libmpi.so", "OMPI_COMM_WORLD_SIZE": "2"])) { error in
            XCTAssertTrue("\(error)".contains("Open MPI's library cannot be loaded"), "\(error)")
            XCTAssertTrue("\(error)".contains("/nonexistent/libmpi.so"), "\(error)")
            XCTAssertTrue("\(error)".contains("install Debian's openmpi-bin"), "\(error)")
        }
    }
}
