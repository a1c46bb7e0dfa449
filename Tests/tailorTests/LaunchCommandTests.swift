import Foundation
import TailorTestSupport
import XCTest

/// `tailor launch` (and so `mpirun ... tailor train`) with real Open MPI processes over loopback:
/// 2 and 4 ranks give the losses, gradient norms and weights of one process with the same global
/// batch (LoRA and full fine-tuning, gradient accumulation, packing, clipping, evaluation); a run
/// checkpointed with 2 ranks resumes with 4 on the same curve; a rank with another recipe is refused
/// at start-up; a rank that dies or hangs ends the job, named.
final class LaunchCommandTests: XCTestCase {
    var folder: URL!

    override func setUpWithError() throws {
        guard TestPaths.tailorBinary != nil else { throw XCTSkip("the tailor executable is not built beside the tests") }
        guard Self.mpirun != nil else { throw XCTSkip("mpirun is not installed (scripts/setup.sh installs Debian's openmpi-bin)") }
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("tailor-launch-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let records = Self.records(24, seed: 7, unlabelled: 3)
        try (records.joined(separator: "\n") + "\n").write(to: folder.appendingPathComponent("train.jsonl"), atomically: true, encoding: .utf8)
        try (records.prefix(6).joined(separator: "\n") + "\n").write(to: folder.appendingPathComponent("eval.jsonl"), atomically: true, encoding: .utf8)
    }

    override func tearDownWithError() throws { if let folder { try? FileManager.default.removeItem(at: folder) } }

    /// `count` pre-tokenized records of 5–13 tokens from a seeded generator, the first `unlabelled` tokens of each -100.
    static func records(_ count: Int, seed: UInt64, unlabelled: Int) -> [String] {
        var state = seed
        func next(_ bound: Int) -> Int {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Int((state >> 33) % UInt64(bound))
        }
        return (0..<count).map { _ -> String in
            let ids = [1] + (0..<(3 + next(9))).map { _ in 3 + next(58) } + [2]
            let labels = ids.enumerated().map { $0.offset < unlabelled ? -100 : $0.element }
            return #"{"input_ids": \#(ids), "labels": \#(labels)}"#
        }
    }

    static var mpirun: URL? {
        (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin").split(separator: ":")
            .map { URL(fileURLWithPath: String($0)).appendingPathComponent("mpirun") }
            .first { FileManager.default.isExecutableFile(atPath: $0.path) }
    }

    var binary: URL { TestPaths.tailorBinary! }  // checked in setUp

    /// A LoRA recipe of `steps` steps with per_device_train_batch_size 2 and clipping at 0.5 (which binds).
    func recipe(_ out: String, steps: Int = 6, accumulation: Int, extra: [String] = []) -> [String] {
        ["train", "--model_name_or_path", TestPaths.fixture("models/llama").path, "--dataset", folder.appendingPathComponent("train.jsonl").path,
         "--output_dir", folder.appendingPathComponent(out).path, "--max_steps", String(steps), "--per_device_train_batch_size", "2",
         "--gradient_accumulation_steps", String(accumulation), "--learning_rate", "0.01", "--logging_steps", "1", "--save_strategy", "no",
         "--max_grad_norm", "0.5", "--r", "4", "--target_modules", "q_proj", "v_proj", "down_proj", "--ddp_timeout", "60"] + extra
    }

    func train(_ arguments: [String], ranks: Int = 1) throws -> String {
        let command = ranks == 1 ? arguments : ["launch", "--nproc", String(ranks), "--"] + arguments
        let result = try TestPaths.run(binary, command)
        XCTAssertEqual(result.status, 0, result.output)
        return result.output
    }

    /// (loss, grad_norm) of each step in `out`'s metrics.jsonl; a resumed run's later line for a step replaces the earlier.
    func steps(_ out: String) throws -> [(step: Int, loss: Double, gradNorm: Double)] {
        let text = try String(contentsOf: folder.appendingPathComponent(out).appendingPathComponent("metrics.jsonl"), encoding: .utf8)
        var byStep: [Int: (Double, Double)] = [:]
        for line in text.split(separator: "\n") where line.contains(#""grad_norm""#) {
            let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            byStep[try XCTUnwrap(object["step"] as? Int)] = (try XCTUnwrap(object["loss"] as? Double), try XCTUnwrap(object["grad_norm"] as? Double))
        }
        return byStep.sorted { $0.key < $1.key }.map { ($0.key, $0.value.0, $0.value.1) }
    }

    func evalLosses(_ out: String) throws -> [Double] {
        let text = try String(contentsOf: folder.appendingPathComponent(out).appendingPathComponent("metrics.jsonl"), encoding: .utf8)
        return try text.split(separator: "\n").compactMap { line in
            guard line.contains(#""eval_loss""#) else { return nil }
            let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            return object["eval_loss"] as? Double
        }
    }

    /// The float tensors of a safetensors file, by name.
    func tensors(_ file: URL) throws -> [String: [Float]] {
        let data = try Data(contentsOf: file)
        let headerLength = data.prefix(8).withUnsafeBytes { Int($0.loadUnaligned(as: UInt64.self).littleEndian) }
        let header = try XCTUnwrap(try JSONSerialization.jsonObject(with: data.subdata(in: 8..<(8 + headerLength))) as? [String: Any])
        var result: [String: [Float]] = [:]
        for (name, value) in header where name != "__metadata__" {
            let entry = try XCTUnwrap(value as? [String: Any]), offsets = try XCTUnwrap(entry["data_offsets"] as? [Int])
            XCTAssertEqual(entry["dtype"] as? String, "F32", name)
            let bytes = data.subdata(in: (8 + headerLength + offsets[0])..<(8 + headerLength + offsets[1]))
            result[name] = bytes.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        }
        return result
    }

    func assertSameCurve(_ a: String, _ b: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let (x, y) = (try steps(a), try steps(b))
        XCTAssertEqual(x.count, y.count, file: file, line: line)
        XCTAssertFalse(x.isEmpty, file: file, line: line)
        for (p, q) in zip(x, y) {
            XCTAssertEqual(p.step, q.step, file: file, line: line)
            XCTAssertEqual(p.loss, q.loss, accuracy: 1e-5 * abs(p.loss), "\(b) step \(p.step) loss", file: file, line: line)
            XCTAssertEqual(p.gradNorm, q.gradNorm, accuracy: 1e-5 * abs(p.gradNorm), "\(b) step \(p.step) grad_norm", file: file, line: line)
        }
    }

    /// Final weights: each tensor within 1e-4 of the largest magnitude in it (the reduction order
    /// differs between 1, 2 and 4 ranks, and AdamW's g/√v magnifies rounding where a gradient is ≈ 0).
    func assertSameWeights(_ a: URL, _ b: URL, file: StaticString = #filePath, line: UInt = #line) throws {
        let (x, y) = (try tensors(a), try tensors(b))
        XCTAssertEqual(Set(x.keys), Set(y.keys), file: file, line: line)
        XCTAssertFalse(x.isEmpty, file: file, line: line)
        for (name, values) in x {
            let other = try XCTUnwrap(y[name], file: file, line: line)
            let scale = max(values.map { abs($0) }.max() ?? 0, 1e-6)
            let worst = zip(values, other).map { abs($0 - $1) }.max() ?? 0
            XCTAssertLessThanOrEqual(worst, 1e-4 * scale, "\(name): \(worst) apart (scale \(scale))", file: file, line: line)
        }
    }

    func testTwoAndFourRanksGiveTheOneProcessRunWithTheSameGlobalBatch() throws {
        let eval = ["--eval_dataset", folder.appendingPathComponent("eval.jsonl").path, "--eval_strategy", "steps", "--eval_steps", "3",
                    "--per_device_eval_batch_size", "2"]
        _ = try train(recipe("one", accumulation: 4, extra: eval))
        let output = try train(recipe("two", accumulation: 2, extra: eval), ranks: 2)
        XCTAssertTrue(output.contains("ranks: 2 (Open MPI"), output)
        XCTAssertEqual(output.components(separatedBy: "trained 6 steps").count, 2, "rank 0 alone prints: \(output)")
        _ = try train(recipe("four", accumulation: 1, extra: eval), ranks: 4)
        try assertSameCurve("one", "two")
        try assertSameCurve("one", "four")
        let evals = try evalLosses("one")
        XCTAssertEqual(evals.count, 2)
        for other in ["two", "four"] {
            for (a, b) in zip(evals, try evalLosses(other)) { XCTAssertEqual(a, b, accuracy: 1e-6 * a, other) }
        }
        let weights = "adapter_model.safetensors"
        try assertSameWeights(folder.appendingPathComponent("one/\(weights)"), folder.appendingPathComponent("two/\(weights)"))
        try assertSameWeights(folder.appendingPathComponent("one/\(weights)"), folder.appendingPathComponent("four/\(weights)"))
        // Only rank 0 wrote into output_dir: one of each file, no second rank's leftovers.
        let written = try FileManager.default.contentsOfDirectory(atPath: folder.appendingPathComponent("two").path)
        XCTAssertFalse(written.contains { $0.hasPrefix(".tailor-write-test") }, "\(written)")
    }

    /// transformers.Trainer + peft under torchrun (gloo, 2 ranks, average_tokens_across_devices=True;
    /// scripts/reference/make_ddp_fixtures.py) and Tailor's 2-rank run from the same adapter and data.
    func testTwoRanksGiveTheLossesOfTransformersUnderTorchrun() throws {
        let fixture = TestPaths.fixture("ddp/llama")
        let reference = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: fixture.appendingPathComponent("reference.json"))) as? [String: Any])
        let losses = try XCTUnwrap(reference["loss"] as? [Double]), norms = try XCTUnwrap(reference["grad_norm"] as? [Double])
        XCTAssertEqual(reference["world_size"] as? Int, 2)
        _ = try train(["train", "--model_name_or_path", TestPaths.fixture("models/llama").path,
                       "--adapter_name_or_path", fixture.appendingPathComponent("init").path,
                       "--dataset", fixture.appendingPathComponent("train.jsonl").path, "--train_sampling_strategy", "sequential",
                       "--per_device_train_batch_size", "2", "--gradient_accumulation_steps", "2", "--max_steps", "6",
                       "--learning_rate", "5e-3", "--lr_scheduler_type", "linear", "--warmup_steps", "1", "--weight_decay", "0.01",
                       "--max_grad_norm", "0.5", "--optim", "adamw_torch", "--logging_steps", "1", "--save_strategy", "no",
                       "--bf16", "false",  // torchrun's fp32 numbers, also on a CPU with bf16 products
                       "--output_dir", folder.appendingPathComponent("torchrun").path], ranks: 2)
        let steps = try steps("torchrun")
        XCTAssertEqual(steps.count, losses.count)
        for (step, (loss, norm)) in zip(steps, zip(losses, norms)) {
            XCTAssertEqual(step.loss, loss, accuracy: 1e-5 * loss + 1e-6, "step \(step.step) loss")
            XCTAssertEqual(step.gradNorm, norm, accuracy: 1e-5 * norm + 1e-6, "step \(step.step) grad_norm")
        }
    }

    func testFullFineTuningAndPackingOverTwoRanksGiveTheOneProcessRun() throws {
        let full = ["--finetuning_type", "full", "--learning_rate", "0.001"]
        _ = try train(recipe("full-one", steps: 4, accumulation: 2, extra: full))
        _ = try train(recipe("full-two", steps: 4, accumulation: 1, extra: full), ranks: 2)
        try assertSameCurve("full-one", "full-two")
        try assertSameWeights(folder.appendingPathComponent("full-one/model.safetensors"), folder.appendingPathComponent("full-two/model.safetensors"))
        let packing = ["--packing", "true", "--cutoff_len", "24"]
        _ = try train(recipe("packed-one", steps: 3, accumulation: 2, extra: packing))
        _ = try train(recipe("packed-two", steps: 3, accumulation: 1, extra: packing), ranks: 2)
        try assertSameCurve("packed-one", "packed-two")
    }

    /// LLaMA-Factory's DeepSpeed configs for ZeRO stages 1 and 2 ("auto" values, bucket sizes).
    func deepSpeedConfig(stage: Int) throws -> String {
        let file = folder.appendingPathComponent("ds_z\(stage)_config.json")
        try """
        {"train_batch_size": "auto", "train_micro_batch_size_per_gpu": "auto", "gradient_accumulation_steps": "auto",
         "gradient_clipping": "auto", "zero_allow_untested_optimizer": true, "bf16": {"enabled": "auto"},
         "zero_optimization": {"stage": \(stage), "allgather_partitions": true, "allgather_bucket_size": 5e8, "overlap_comm": false,
                               "reduce_scatter": true, "reduce_bucket_size": 300, "contiguous_gradients": true}}
        """.write(to: file, atomically: true, encoding: .utf8)
        return file.path
    }

    func testZeROStages1And2GivePlainDataParallelism() throws {
        _ = try train(recipe("plain", accumulation: 1), ranks: 4)
        let one = try train(recipe("zero1", accumulation: 1, extra: ["--deepspeed", try deepSpeedConfig(stage: 1)]), ranks: 4)
        XCTAssertTrue(one.contains("ZeRO stage 1 (optimizer state sharded)"), one)
        let two = try train(recipe("zero2", accumulation: 1, extra: ["--deepspeed", try deepSpeedConfig(stage: 2)]), ranks: 4)
        XCTAssertTrue(two.contains("ZeRO stage 2 (optimizer state and gradients sharded)"), two)
        _ = try train(recipe("fsdp", accumulation: 1, extra: ["--fsdp", "shard_grad_op"]), ranks: 2)
        _ = try train(recipe("plain2", accumulation: 1), ranks: 2)
        try assertSameCurve("plain", "zero1")
        try assertSameCurve("plain", "zero2")
        try assertSameCurve("plain2", "fsdp")
        let weights = "adapter_model.safetensors"
        try assertSameWeights(folder.appendingPathComponent("plain/\(weights)"), folder.appendingPathComponent("zero1/\(weights)"))
        try assertSameWeights(folder.appendingPathComponent("plain/\(weights)"), folder.appendingPathComponent("zero2/\(weights)"))
    }

    func testAZeRO2CheckpointHoldsTheWholeStateAndResumesInOneProcess() throws {
        _ = try train(recipe("whole", accumulation: 2))
        let saving = ["--save_strategy", "steps", "--save_steps", "3", "--deepspeed", try deepSpeedConfig(stage: 2)]
        _ = try train(recipe("sharded", accumulation: 1, extra: saving), ranks: 2)
        // The checkpoint has every parameter's AdamW moments (rank 0 gathered them), so one plain process resumes it.
        let state = try tensors(folder.appendingPathComponent("sharded/checkpoint-3/optimizer.safetensors"))
        let adapter = try tensors(folder.appendingPathComponent("sharded/checkpoint-3/adapter_model.safetensors"))
        XCTAssertEqual(state.count, 2 * adapter.count, "exp_avg and exp_avg_sq of each of \(adapter.count) tensors: \(state.keys.sorted())")
        XCTAssertTrue(state.values.allSatisfy { $0.contains { $0 != 0 } }, "no rank's moments are left out (all zeros)")
        let checkpoint = folder.appendingPathComponent("sharded/checkpoint-3").path
        _ = try train(recipe("sharded", accumulation: 2, extra: ["--save_strategy", "steps", "--save_steps", "3", "--resume_from_checkpoint", checkpoint]))
        try assertSameCurve("whole", "sharded")
    }

    func testACheckpointOfTwoRanksResumesWithFourOnTheSameCurve() throws {
        let saving = ["--save_strategy", "steps", "--save_steps", "3"]
        _ = try train(recipe("straight", accumulation: 4))
        _ = try train(recipe("resumed", steps: 6, accumulation: 2, extra: saving + ["--max_steps", "6"]), ranks: 2)
        // Start again from checkpoint-3 with 4 ranks (gradient accumulation 1: the same global batch).
        let checkpoint = folder.appendingPathComponent("resumed/checkpoint-3").path
        _ = try train(recipe("resumed", accumulation: 1, extra: saving + ["--resume_from_checkpoint", checkpoint]), ranks: 4)
        try assertSameCurve("straight", "resumed")
    }

    func testTheAllReduceBenchmarkChecksItsSumsOverFourRanks() throws {
        let result = try TestPaths.run(binary, ["launch", "--nproc", "4", "--", "bench", "allreduce", "--sizes", "1000,70000", "--iterations", "2"])
        XCTAssertEqual(result.status, 0, result.output)
        XCTAssertTrue(result.output.contains("all-reduce over 4 ranks (Open MPI"), result.output)
        XCTAssertEqual(result.output.components(separatedBy: #"{"bench": "allreduce", "ranks": 4"#).count, 2, "rank 0 alone prints: \(result.output)")
        XCTAssertTrue(result.output.contains(#""floats": 70000"#), result.output)
    }

    func testARankWithAnotherRecipeIsRefusedAtStartUp() throws {
        let mpirun = try XCTUnwrap(Self.mpirun)
        let a = recipe("mixed", accumulation: 1), b = recipe("mixed", accumulation: 1, extra: ["--learning_rate", "0.02"])
        let started = Date()
        let result = try TestPaths.run(mpirun, ["--allow-run-as-root", "--oversubscribe", "-np", "1", binary.path] + a + [":", "-np", "1", binary.path] + b)
        XCTAssertNotEqual(result.status, 0, result.output)
        XCTAssertTrue(result.output.contains("rank 1 was started with another recipe or data than rank 0"), result.output)
        XCTAssertTrue(result.output.contains("learning_rate: 0.02"), result.output)
        XCTAssertLessThan(Date().timeIntervalSince(started), 50, "refused at start-up, not after a timeout")
    }

    /// The PIDs of the `tailor train` ranks under `launcher` (its descendants running train).
    func rankProcesses(under launcher: Int32) -> [Int32] {
        var found: [Int32] = [], queue = [launcher]
        while let parent = queue.popLast() {
            // Children are listed under the thread that forked them.
            let threads = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(parent)/task")) ?? []
            let children = threads.map { (try? String(contentsOfFile: "/proc/\(parent)/task/\($0)/children", encoding: .utf8)) ?? "" }.joined(separator: " ")
            for child in children.split(separator: " ").compactMap({ Int32($0) }) {
                queue.append(child)
                let command = (try? String(contentsOfFile: "/proc/\(child)/cmdline", encoding: .utf8)) ?? ""
                let words = command.split(separator: "\0")
                if words.count > 1 && words[1] == "train" { found.append(child) }
            }
        }
        // In rank order: mpirun gives each rank OMPI_COMM_WORLD_RANK.
        func rank(_ pid: Int32) -> Int {
            let environment = (try? Data(contentsOf: URL(fileURLWithPath: "/proc/\(pid)/environ"))) ?? Data()
            let entries = String(decoding: environment, as: UTF8.self).split(separator: "\0")
            return entries.first { $0.hasPrefix("OMPI_COMM_WORLD_RANK=") }.flatMap { Int($0.dropFirst("OMPI_COMM_WORLD_RANK=".count)) } ?? Int.max
        }
        return found.sorted { rank($0) < rank($1) }
    }

    /// Starts a long 2-rank run, waits for its first steps, does `fault` to (the launcher, rank 1), and returns
    /// the job's exit status, output and how long it took to end after the fault.
    func faulted(_ name: String, timeout: Int, _ fault: @escaping (Int32) -> Void) throws -> (status: Int32, output: String, seconds: Double) {
        try faulted(name, timeout: timeout, signalling: { _, rank in fault(rank) })
    }

    func faulted(_ name: String, timeout: Int, steps: Int = 100_000, signalling fault: (Int32, Int32) -> Void) throws
        -> (status: Int32, output: String, seconds: Double) {
        let log = folder.appendingPathComponent("\(name).log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let handle = try FileHandle(forWritingTo: log)
        let process = Process()
        process.executableURL = binary
        process.arguments = ["launch", "--nproc", "2", "--"] + recipe(name, steps: steps, accumulation: 1, extra: ["--ddp_timeout", String(timeout)])
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        var ranks: [Int32] = []
        defer {
            // SIGKILL to the launcher would leave mpirun and the ranks running: end them all.
            for pid in ranks + rankProcesses(under: process.processIdentifier) { kill(pid, SIGKILL) }
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        }
        let metrics = folder.appendingPathComponent(name).appendingPathComponent("metrics.jsonl")
        let deadline = Date().addingTimeInterval(120)
        while Date() < deadline, ((try? String(contentsOf: metrics, encoding: .utf8)) ?? "").components(separatedBy: "grad_norm").count < 4 {
            usleep(50_000)
        }
        ranks = rankProcesses(under: process.processIdentifier)
        XCTAssertEqual(ranks.count, 2, "ranks found: \(ranks); \((try? String(contentsOf: log, encoding: .utf8)) ?? "")")
        guard ranks.count == 2 else { return (-1, "", 0) }
        let faultTime = Date()
        fault(process.processIdentifier, ranks[1])
        let end = Date().addingTimeInterval(Double(timeout) + 60)
        while process.isRunning && Date() < end { usleep(50_000) }
        let seconds = Date().timeIntervalSince(faultTime)
        if process.isRunning { kill(process.processIdentifier, SIGTERM) }
        process.waitUntilExit()
        return (process.terminationStatus, (try? String(contentsOf: log, encoding: .utf8)) ?? "", seconds)
    }

    func testCtrlCStopsEveryRankAfterTheSameStepWithACheckpointThatResumes() throws {
        let result = try faulted("interrupted", timeout: 60, steps: 120, signalling: { launcher, _ in kill(launcher, SIGINT) })
        XCTAssertEqual(result.status, 130, result.output)
        let checkpoint = try XCTUnwrap(result.output.components(separatedBy: "interrupted after step ").dropFirst().first?
            .prefix { $0.isNumber }, result.output)
        XCTAssertTrue(result.output.contains("to resume: tailor launch --nproc 2 -- train "), result.output)
        let saved = folder.appendingPathComponent("interrupted/checkpoint-\(checkpoint)")
        XCTAssertTrue(FileManager.default.fileExists(atPath: saved.appendingPathComponent("adapter_model.safetensors").path), result.output)
        // The command it printed resumes the job from there to its last step.
        let resumed = try train(recipe("interrupted", steps: 120, accumulation: 1, extra: ["--resume_from_checkpoint", saved.path]), ranks: 2)
        XCTAssertTrue(resumed.contains("training 120 steps"), resumed)
        XCTAssertTrue(resumed.contains("trained 120 steps"), resumed)
    }

    func testARankThatDiesEndsTheJobNamingIt() throws {
        let result = try faulted("killed", timeout: 30) { kill($0, SIGKILL) }
        XCTAssertNotEqual(result.status, 0, result.output)
        XCTAssertLessThan(result.seconds, 30, "the job ended \(result.seconds) s after the rank died: \(result.output)")
        XCTAssertTrue(result.output.contains("rank 1"), result.output)
    }

    func testARankThatHangsEndsTheJobWithinTheTimeoutNamingIt() throws {
        let result = try faulted("hung", timeout: 4) { kill($0, SIGSTOP) }
        XCTAssertNotEqual(result.status, 0, result.output)
        XCTAssertLessThan(result.seconds, 4 + 30, result.output)
        XCTAssertTrue(result.output.contains("did not complete within 4 s (ddp_timeout)"), result.output)
        // Rank 0 names rank 1: it never reached the collective, or (stopped inside it) it is the one other rank.
        XCTAssertTrue(result.output.contains("rank 1 never reached it") || result.output.contains("rank 0 of 2: step")
                      && result.output.contains("rank 1, the other, died, hangs"), "rank 0 names the hung rank: \(result.output)")
    }
}
