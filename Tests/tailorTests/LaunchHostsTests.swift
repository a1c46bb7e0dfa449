import Foundation
import TailorTestSupport
import XCTest

/// Two machines, simulated: two network namespaces joined by a veth pair, one rank in each
/// (`tailor launch --hosts A,B --rsh-agent` with an agent that enters the host's namespace). The
/// ranks talk over that link only, and the run equals the one-process run with the same global batch.
final class LaunchHostsTests: XCTestCase {
    var folder: URL!
    var namespaces: [String] = []

    /// Runs a command, returning its status and output.
    @discardableResult
    func shell(_ arguments: [String]) throws -> (status: Int32, output: String) {
        try TestPaths.run(URL(fileURLWithPath: "/usr/bin/env"), arguments)
    }

    override func setUpWithError() throws {
        guard TestPaths.tailorBinary != nil else { throw XCTSkip("the tailor executable is not built beside the tests") }
        guard LaunchCommandTests.mpirun != nil else { throw XCTSkip("mpirun is not installed (scripts/setup.sh installs Debian's openmpi-bin)") }
        guard getuid() == 0 else { throw XCTSkip("network namespaces need root") }
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("tailor-hosts-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let tag = String(getpid() % 10_000)
        namespaces = ["tailor-a-\(tag)", "tailor-b-\(tag)"]
        let (a, b) = (namespaces[0], namespaces[1])
        let (linkA, linkB) = ("tva\(tag)", "tvb\(tag)")
        let subnet = "10.233.\(getpid() % 250)"
        for command in [["ip", "netns", "add", a], ["ip", "netns", "add", b],
                        ["ip", "link", "add", linkA, "type", "veth", "peer", "name", linkB],
                        ["ip", "link", "set", linkA, "netns", a], ["ip", "link", "set", linkB, "netns", b],
                        ["ip", "-n", a, "addr", "add", "\(subnet).1/24", "dev", linkA], ["ip", "-n", b, "addr", "add", "\(subnet).2/24", "dev", linkB],
                        ["ip", "-n", a, "link", "set", linkA, "up"], ["ip", "-n", b, "link", "set", linkB, "up"],
                        ["ip", "-n", a, "link", "set", "lo", "up"], ["ip", "-n", b, "link", "set", "lo", "up"]] {
            let result = try shell(command)
            guard result.status == 0 else { throw XCTSkip("cannot make the test network (\(command.joined(separator: " "))): \(result.output)") }
        }
        hosts = ["\(subnet).1", "\(subnet).2"]
        links = [linkA, linkB]
        // Open MPI starts its daemon on each host with `agent HOST COMMAND...`: here, inside HOST's namespace.
        let agent = folder.appendingPathComponent("netns-rsh")
        try """
        #!/bin/sh
        host="$1"; shift
        case "$host" in
          \(hosts[0])) ns=\(a) ;;
          \(hosts[1])) ns=\(b) ;;
          *) echo "netns-rsh: unknown host $host" >&2; exit 1 ;;
        esac
        exec ip netns exec "$ns" /bin/sh -c "$*"
        """.write(to: agent, atomically: true, encoding: .utf8)
        chmod(agent.path, 0o755)
        self.agent = agent
        let records = LaunchCommandTests.records(16, seed: 11, unlabelled: 2)
        try (records.joined(separator: "\n") + "\n").write(to: folder.appendingPathComponent("train.jsonl"), atomically: true, encoding: .utf8)
    }

    var hosts: [String] = []
    var links: [String] = []
    var agent: URL!

    override func tearDownWithError() throws {
        for namespace in namespaces { _ = try? shell(["ip", "netns", "del", namespace]) }  // deletes the veth pair too
        if let folder { try? FileManager.default.removeItem(at: folder) }
    }

    func bytesSent(_ namespace: String, _ link: String) throws -> Int {
        let result = try shell(["ip", "netns", "exec", namespace, "cat", "/sys/class/net/\(link)/statistics/tx_bytes"])
        return Int(result.output.trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1
    }

    func testOneRankOnEachOfTwoHostsGivesTheOneProcessRun() throws {
        let binary = try XCTUnwrap(TestPaths.tailorBinary)
        func recipe(_ out: String, accumulation: Int) -> [String] {
            ["train", "--model_name_or_path", TestPaths.fixture("models/llama").path, "--dataset", folder.appendingPathComponent("train.jsonl").path,
             "--output_dir", folder.appendingPathComponent(out).path, "--max_steps", "4", "--per_device_train_batch_size", "2",
             "--gradient_accumulation_steps", String(accumulation), "--learning_rate", "0.01", "--logging_steps", "1", "--save_strategy", "no",
             "--r", "4", "--target_modules", "q_proj", "v_proj", "--ddp_timeout", "60"]
        }
        let one = try TestPaths.run(binary, recipe("one", accumulation: 2))
        XCTAssertEqual(one.status, 0, one.output)
        let before = try bytesSent(namespaces[0], links[0])
        // mpirun runs in the first namespace; the second host is reached through the agent alone.
        let two = try shell(["ip", "netns", "exec", namespaces[0], binary.path, "launch", "--nproc", "2", "--hosts", "\(hosts[0]):1,\(hosts[1]):1",
                             "--rsh-agent", agent.path, "--"] + recipe("two", accumulation: 1))
        XCTAssertEqual(two.status, 0, two.output)
        XCTAssertTrue(two.output.contains("ranks: 2 (Open MPI"), two.output)
        XCTAssertTrue(two.output.contains("1 on this machine"), "one rank per host: \(two.output)")
        let sent = try bytesSent(namespaces[0], links[0]) - before
        XCTAssertGreaterThan(sent, 10_000, "the ranks' traffic crossed the veth link (\(sent) bytes)")
        let oneLog = try String(contentsOf: folder.appendingPathComponent("one/metrics.jsonl"), encoding: .utf8)
        let twoLog = try String(contentsOf: folder.appendingPathComponent("two/metrics.jsonl"), encoding: .utf8)
        func losses(_ text: String) -> [String] {
            text.split(separator: "\n").filter { $0.contains("grad_norm") }.map { line in
                String(line.split(separator: ",").first { $0.contains("\"loss\"") } ?? "")
            }
        }
        XCTAssertEqual(losses(oneLog).count, 4)
        XCTAssertEqual(losses(oneLog), losses(twoLog), "two ranks sum a step's two micro-batches exactly as one process does")
        let adapter = "adapter_model.safetensors"
        XCTAssertEqual(try Data(contentsOf: folder.appendingPathComponent("one/\(adapter)")),
                       try Data(contentsOf: folder.appendingPathComponent("two/\(adapter)")))
    }
}
