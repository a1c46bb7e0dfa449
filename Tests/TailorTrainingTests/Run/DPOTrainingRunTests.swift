import Foundation
import TailorFormats
import TailorJSON
import TailorTestSupport
@testable import TailorTraining
import XCTest

/// `stage: dpo` end to end through `TrainingRun` (what `tailor train` runs): TRL's tokenized pair
/// records, the recipe keys by TRL's and LLaMA-Factory's names, the Trainer's pair batches, and
/// trainer_state.json's log_history against TRL's DPOTrainer (Tests/Fixtures/dpo,
/// scripts/reference/make_dpo_fixtures.py); the precomputed reference against the live one; resume.
final class DPOTrainingRunTests: XCTestCase {
    var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("tailor-dpo-run-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: folder) }

    /// The id lists a fixture's data.safetensors holds back to back under `key`, cut by `key_lengths`.
    func idLists(_ data: SafetensorsFile, _ key: String) throws -> [[Int]] {
        let ids = try data.floats(key).map { Int($0) }
        var offset = 0
        return try data.floats(key + "_lengths").map { length in
            defer { offset += Int(length) }
            return Array(ids[offset..<(offset + Int(length))])
        }
    }

    /// The fixture's pairs as TRL's tokenized DPO records, one per line.
    func writePairs(_ fixture: URL) throws -> URL {
        let data = try SafetensorsFile(url: fixture.appendingPathComponent("data.safetensors"))
        let prompts = try idLists(data, "prompt_ids"), chosen = try idLists(data, "chosen_ids"), rejected = try idLists(data, "rejected_ids")
        let lines = prompts.indices.map { i in
            JSONValue.object(JSONObject([("prompt_ids", .array(prompts[i].map { .int($0) })),
                                         ("chosen_ids", .array(chosen[i].map { .int($0) })),
                                         ("rejected_ids", .array(rejected[i].map { .int($0) }))])).text()
        }
        let url = folder.appendingPathComponent("pairs-\(fixture.lastPathComponent).jsonl")
        try (lines.joined(separator: "\n") + "\n").write(to: url, atomically: false, encoding: .utf8)
        return url
    }

    func recipe(family: String, data: URL, output: String, _ pairs: [(String, RecipeValue)]) throws -> TrainRecipe {
        var recipe = TrainRecipe()
        _ = try RecipeKeys.apply([
            ("model_name_or_path", .string(TestPaths.fixture("models/\(family)").path)), ("dataset", .string(data.path)),
            ("output_dir", .string(folder.appendingPathComponent(output).path)), ("stage", .string("dpo")),
            ("per_device_train_batch_size", .number(2)), ("gradient_accumulation_steps", .number(2)), ("num_train_epochs", .number(5)),
            ("learning_rate", .number(5e-3)), ("lr_scheduler_type", .string("linear")), ("warmup_steps", .number(1)),
            ("weight_decay", .number(0)), ("max_grad_norm", .number(1)), ("optim", .string("adamw_torch")), ("seed", .number(0)),
            ("train_sampling_strategy", .string("sequential")), ("logging_steps", .number(1)), ("save_strategy", .string("no")),
            ("lora_dropout", .number(0)),
        ] + pairs, to: &recipe)
        return recipe
    }

    func run(_ recipe: TrainRecipe) throws -> (TrainingRun, [JSONValue]) {
        let run = try TrainingRun(recipe: recipe, modelFolder: URL(fileURLWithPath: recipe.modelNameOrPath),
                                  compute: try TrainingBackend.choose(.cpu, accelerator: nil))
        try run.train()
        let state = try JSONValue(parsing: [UInt8](try Data(contentsOf: URL(fileURLWithPath: recipe.training.outputDir)
                .appendingPathComponent("trainer_state.json"))), options: .python)
        return (run, (state["log_history"]?.arrayValue ?? []).filter { $0["loss"] != nil })
    }

    /// Every logged step and the trained adapter (or, with `full`, every weight) equal TRL's, from
    /// the fixture's starting adapter (full: the model, with TRL's precompute_ref_log_probs).
    func checkAgainstTRL(_ family: String, _ loss: String, names: (beta: String, loss: String), full: Bool = false,
                         losses: [(String, RecipeValue)]? = nil) throws {
        let fixture = TestPaths.fixture("dpo/\(family)-\(full ? "full-" : "")\(loss)")
        let reference = try SafetensorsFile(url: fixture.appendingPathComponent("reference.safetensors"))
        let start: [(String, RecipeValue)] = full ? [("finetuning_type", .string("full"))]
            : [("adapter_name_or_path", .string(fixture.appendingPathComponent("init").path))]
        let smoothing = reference.tensorNames.contains("label_smoothing") ? Double(try reference.floats("label_smoothing")[0]) : 0
        let recipe = try self.recipe(family: family, data: try writePairs(fixture), output: fixture.lastPathComponent, [
            (names.beta, .number(Double(try reference.floats("beta")[0]))), ("label_smoothing", .number(smoothing)),
        ] + (losses ?? [(names.loss, .string(loss))]) + start)
        let (run, logs) = try self.run(recipe)
        XCTAssertTrue(run.precomputesReference, "the reference is the starting model (adapter), precomputed: no second copy")
        let id = "\(family) \(full ? "full " : "")\(loss)"
        let expectedLoss = try reference.floats("loss")
        XCTAssertEqual(logs.count, expectedLoss.count, id)
        for (step, entry) in logs.enumerated() {
            let actual = try XCTUnwrap(entry["loss"]?.doubleValue)
            XCTAssertEqual(actual, Double(expectedLoss[step]), accuracy: 6e-5 * max(1, Double(expectedLoss[step])), "\(id) loss at step \(step + 1)")
            for name in DPOReferenceTests.metrics where name != "rewards/accuracies" {
                let expected = Double(try reference.floats("metric." + name)[step])
                let value = try XCTUnwrap(entry[name]?.doubleValue, "\(id) \(name) in log_history")
                let accuracy = try PreferenceMetricTolerance.accuracy(name, expected: expected, beta: Double(try reference.floats("beta")[0]),
                                                                      reference: reference, step: step)
                XCTAssertEqual(value, expected, accuracy: accuracy, "\(id) \(name) at step \(step + 1)")
            }
        }
        try checkTrained(recipe, reference: reference, full: full, steps: logs.count, id: id)
    }

    /// The trained adapter, or with `full` every weight, against the fixture's `final.*` tensors.
    func checkTrained(_ recipe: TrainRecipe, reference: SafetensorsFile, full: Bool, steps: Int, id: String) throws {
        let output = URL(fileURLWithPath: recipe.training.outputDir)
        guard full else {
            let adapter = try SafetensorsFile(url: output.appendingPathComponent("adapter_model.safetensors"))
            for name in adapter.tensorNames {
                let key = "final." + name.replacingOccurrences(of: "base_model.model.", with: "")
                assertClose(try adapter.floats(name), try reference.floats(key), rtol: 1e-4, atol: 1e-5, "\(id) final \(name)")
            }
            return
        }
        let saved = try SafetensorsFile(url: output.appendingPathComponent("model.safetensors"))
        let names = reference.tensorNames.filter { $0.hasPrefix("final.") }
        XCTAssertFalse(names.isEmpty)
        let schedule = LRSchedule(kind: .linear, baseLR: 5e-3, warmupSteps: 1, totalSteps: steps)
        let lrSum = Float((0..<steps).reduce(0.0) { $0 + schedule.baseLR * schedule.multiplier(step: $1) })
        for key in names {
            let name = String(key.dropFirst("final.".count))
            if LoRAExtrasReferenceTests.hasNoTrueGradient(name) {
                // A k_proj bias has no true gradient (softmax ignores a per-query constant), so
                // AdamW moves it by rounding noise: within Σ lr of TRL's (LoRAExtrasReferenceTests).
                assertClose(try saved.floats(name), try reference.floats(key), rtol: 0, atol: lrSum, "\(id) \(key) (no true gradient)")
            } else {
                assertClose(try saved.floats(name), try reference.floats(key), rtol: 1e-4, atol: 1e-5, "\(id) \(key)")
            }
        }
    }

    func testDPORunsMatchTRLWithTRLAndLlamaFactoryNames() throws {
        try checkAgainstTRL("llama", "sigmoid", names: ("beta", "loss_type"))
        try checkAgainstTRL("qwen2", "hinge", names: ("pref_beta", "pref_loss"))
        try checkAgainstTRL("llama", "ipo", names: ("beta", "loss_type"))
    }

    /// A reference-free run from the fixture's starting adapter: every logged step, each of
    /// `metrics`, and the trained adapter equal TRL's.
    func checkReferenceFree(_ fixtureName: String, _ keys: [(String, RecipeValue)], metrics: [String]) throws {
        let fixture = TestPaths.fixture("dpo/\(fixtureName)")
        let reference = try SafetensorsFile(url: fixture.appendingPathComponent("reference.safetensors"))
        let full = fixtureName.contains("-full-")
        let start: [(String, RecipeValue)] = full ? [("finetuning_type", .string("full"))]
            : [("adapter_name_or_path", .string(fixture.appendingPathComponent("init").path))]
        let recipe = try self.recipe(family: fixtureName.hasPrefix("qwen2") ? "qwen2" : "llama", data: try writePairs(fixture),
                                     output: fixtureName, keys + start)
        let (run, logs) = try self.run(recipe)
        XCTAssertFalse(run.precomputesReference, "\(fixtureName) has no reference")
        let expectedLoss = try reference.floats("loss")
        XCTAssertEqual(logs.count, expectedLoss.count, fixtureName)
        for (step, entry) in logs.enumerated() {
            let actual = try XCTUnwrap(entry["loss"]?.doubleValue)
            XCTAssertEqual(actual, Double(expectedLoss[step]), accuracy: 6e-5 * max(1, Double(expectedLoss[step])), "\(fixtureName) loss at step \(step + 1)")
            // TRL's logits/* here average its padded batch, padding included: not a number Tailor reports.
            XCTAssertNil(entry["logits/chosen"], "\(fixtureName) logits/chosen")
            for name in metrics {
                let expected = Double(try reference.floats("metric." + name)[step])
                let value = try XCTUnwrap(entry[name]?.doubleValue, "\(fixtureName) \(name) in log_history")
                if name == "rewards/accuracies" {
                    if abs(Double(try reference.floats("metric.rewards/margins")[step])) > 1e-4 { XCTAssertEqual(value, expected, "\(fixtureName) \(name) at step \(step + 1)") }
                } else {
                    XCTAssertEqual(value, expected, accuracy: 1e-4 * abs(expected) + 1e-6, "\(fixtureName) \(name) at step \(step + 1)")
                }
            }
        }
        try checkTrained(recipe, reference: reference, full: full, steps: logs.count, id: fixtureName)
    }

    /// SimPO against TRL's CPOTrainer (loss_type simpo), with its default NLL term and without.
    func testSimPORunsMatchTRLsCPOTrainer() throws {
        for (name, alpha) in [("llama", 1.0), ("qwen2", 0.0), ("llama", 0.0), ("llama-full", 1.0)] {
            try checkReferenceFree("\(name)-simpo-alpha\(alpha == 1 ? "1" : "0")", [
                ("pref_loss", .string("simpo")), ("pref_beta", .number(2)), ("simpo_gamma", .number(0.5)), ("cpo_alpha", .number(alpha)),
            ], metrics: DPOReferenceTests.pairMetrics + ["nll_loss"])
        }
    }

    /// ORPO against TRL's ORPOTrainer: the NLL over whole chosen sequences and the odds-ratio term.
    func testORPORunsMatchTRLsORPOTrainer() throws {
        for name in ["llama", "qwen2", "qwen2-full"] {
            try checkReferenceFree("\(name)-orpo", [("loss_type", .string("orpo")), ("beta", .number(0.5))],
                                   metrics: DPOReferenceTests.pairMetrics + ["nll_loss", "log_odds_ratio", "log_odds_chosen"])
        }
    }

    /// TRL's other pairwise losses, each alone, and MPO's weighted sum of three (sigmoid, bco_pair, sft).
    func testTRLsOtherPairwiseLossesAndTheirWeightedSum() throws {
        for loss in ["robust", "exo_pair", "nca_pair", "bco_pair", "sppo_hard", "apo_zero", "apo_down", "sigmoid_norm", "sft"] {
            try checkAgainstTRL("llama", loss, names: ("beta", "loss_type"))
        }
        try checkAgainstTRL("qwen2", "mpo", names: ("beta", "loss_type"), losses: [
            ("loss_type", .list(["sigmoid", "bco_pair", "sft"])), ("loss_weights", .list(["0.8", "0.2", "1.0"])),
        ])
    }

    /// KTO against TRL's KTOTrainer: the examples as it tokenized them, Tailor's own KL completions
    /// (rotated by one within each batch, as TRL draws them), the loss, kl and every metric TRL logged.
    func testKTORunsMatchTRLsKTOTrainer() throws {
        for (family, full) in [("llama", false), ("qwen2", false), ("llama", true)] {
            let fixture = TestPaths.fixture("dpo/\(family)-\(full ? "full-" : "")kto")
            let data = try SafetensorsFile(url: fixture.appendingPathComponent("data.safetensors"))
            let prompts = try idLists(data, "prompt_ids"), completions = try idLists(data, "completion_ids"), labels = try data.floats("label")
            let lines = prompts.indices.map { i in
                JSONValue.object(JSONObject([("prompt_ids", .array(prompts[i].map { .int($0) })),
                                             ("completion_ids", .array(completions[i].map { .int($0) })),
                                             ("label", .bool(labels[i] == 1))])).text()
            }
            let url = folder.appendingPathComponent("kto-\(family).jsonl")
            try (lines.joined(separator: "\n") + "\n").write(to: url, atomically: false, encoding: .utf8)
            let reference = try SafetensorsFile(url: fixture.appendingPathComponent("reference.safetensors"))
            let recipe = try self.recipe(family: family, data: url, output: fixture.lastPathComponent, [
                ("stage", .string("kto")), ("beta", .number(0.5)), ("desirable_weight", .number(1)), ("kto_rejected_weight", .number(1.5)),
                ("per_device_train_batch_size", .number(3)),
            ] + (full ? [("finetuning_type", .string("full"))] : [("adapter_name_or_path", .string(fixture.appendingPathComponent("init").path))]))
            let (run, logs) = try self.run(recipe)
            XCTAssertTrue(run.precomputesReference)
            let expectedLoss = try reference.floats("loss")
            XCTAssertEqual(logs.count, expectedLoss.count, family)
            for (step, entry) in logs.enumerated() {
                let actual = try XCTUnwrap(entry["loss"]?.doubleValue)
                XCTAssertEqual(actual, Double(expectedLoss[step]), accuracy: 6e-5 * max(1, Double(expectedLoss[step])), "\(family) kto loss at step \(step + 1)")
                for name in ["kl", "rewards/chosen", "rewards/rejected", "rewards/margins", "logps/chosen", "logps/rejected", "logits/chosen", "logits/rejected"] {
                    let expected = Double(try reference.floats("metric." + name)[step])
                    guard !expected.isNaN else { XCTAssertNil(entry[name], "\(family) \(name) at step \(step + 1): TRL logged none"); continue }
                    let value = try XCTUnwrap(entry[name]?.doubleValue, "\(family) \(name) at step \(step + 1)")
                    // kl is a mean of differences of log-probability sums of size ~10: float32 rounding of those
                    // sums (~1e-6 relative) leaves ~1e-5 absolute in it, whatever its own size, on every CPU's GEMM.
                    let accuracy = name == "kl" ? 1e-4 * abs(expected) + 2e-5
                        : try PreferenceMetricTolerance.accuracy(name, expected: expected, beta: 0.5, reference: reference, step: step)
                    XCTAssertEqual(value, expected, accuracy: accuracy, "\(family) kto \(name) at step \(step + 1)")
                }
            }
            try checkTrained(recipe, reference: reference, full: full, steps: logs.count, id: fixture.lastPathComponent)
        }
    }

    func testFullFineTuningDPOMatchesTRL() throws {
        try checkAgainstTRL("llama", "sigmoid", names: ("beta", "loss_type"), full: true)
        try checkAgainstTRL("qwen2", "sigmoid", names: ("pref_beta", "pref_loss"), full: true)
        try checkAgainstTRL("llama", "hinge", names: ("beta", "loss_type"), full: true)
        try checkAgainstTRL("qwen2", "ipo", names: ("beta", "loss_type"), full: true)
    }

    /// The reference precomputed in one pass gives the run the live reference (the base under the
    /// disabled adapter) gives, and is kept in output_dir.
    func testPrecomputedReferenceGivesTheLiveRun() throws {
        let data = try writePairs(TestPaths.fixture("dpo/llama-sigmoid"))
        let base: [(String, RecipeValue)] = [("num_train_epochs", .number(1)), ("r", .number(4)), ("target_modules", .list(["q_proj", "v_proj"]))]
        let (liveRun, live) = try run(try recipe(family: "llama", data: data, output: "live", base))
        let (precomputedRun, precomputed) = try run(try recipe(family: "llama", data: data, output: "precomputed",
                                                               base + [("precompute_ref_log_probs", .bool(true))]))
        XCTAssertFalse(liveRun.precomputesReference)
        XCTAssertTrue(precomputedRun.precomputesReference)
        XCTAssertTrue(FileManager.default.fileExists(atPath: folder.appendingPathComponent("precomputed/reference_logps.json").path))
        XCTAssertEqual(live.count, 2)
        for (a, b) in zip(live, precomputed) {
            for key in ["loss", "rewards/margins", "logps/chosen", "grad_norm"] {
                let x = try XCTUnwrap(a[key]?.doubleValue), y = try XCTUnwrap(b[key]?.doubleValue)
                XCTAssertEqual(x, y, accuracy: 1e-6 * max(1, abs(x)), key)
            }
        }
    }

    /// A run resumed from its checkpoint ends bit-identical to the run that was not stopped, with
    /// the live reference and with the precomputed one (read back from reference_logps.json).
    func testResumeMidRunIsBitIdentical() throws {
        let data = try writePairs(TestPaths.fixture("dpo/llama-sigmoid"))
        for precompute in [false, true] {
            let base: [(String, RecipeValue)] = [("r", .number(4)), ("target_modules", .list(["q_proj", "v_proj"])),
                                                 ("precompute_ref_log_probs", .bool(precompute)),
                                                 ("save_strategy", .string("steps")), ("save_steps", .number(2))]
            let whole = try recipe(family: "llama", data: data, output: "whole-\(precompute)", base)
            _ = try run(whole)
            let first = try recipe(family: "llama", data: data, output: "resumed-\(precompute)", base)
            let stopped = try TrainingRun(recipe: first, modelFolder: URL(fileURLWithPath: first.modelNameOrPath),
                                          compute: try TrainingBackend.choose(.cpu, accelerator: nil))
            let stopper = RecordingSink()
            stopper.stopAfterCheckpoint = 2
            XCTAssertThrowsError(try stopped.train(extraSinks: [stopper]))
            let resumed = try recipe(family: "llama", data: data, output: "resumed-\(precompute)",
                                     base + [("resume_from_checkpoint", .string("latest"))])
            _ = try run(resumed)
            let a = try Data(contentsOf: URL(fileURLWithPath: whole.training.outputDir).appendingPathComponent("adapter_model.safetensors"))
            let b = try Data(contentsOf: URL(fileURLWithPath: resumed.training.outputDir).appendingPathComponent("adapter_model.safetensors"))
            XCTAssertEqual(a, b, "precompute \(precompute): the resumed adapter differs")
        }
    }

    /// Bad input: SFT records under stage dpo (named, with the fields it needs), packing.
    func testStageDPORefusesWhatIsNotAPair() throws {
        let sft = folder.appendingPathComponent("sft.jsonl")
        try #"{"input_ids": [1, 5, 6, 2]}"#.appending("\n").write(to: sft, atomically: false, encoding: .utf8)
        let recipe = try self.recipe(family: "llama", data: sft, output: "sft", [])
        XCTAssertThrowsError(try TrainingRun(recipe: recipe, modelFolder: URL(fileURLWithPath: recipe.modelNameOrPath),
                                             compute: try TrainingBackend.choose(.cpu, accelerator: nil))) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("\(sft.path):1: a tokenized record with input_ids"), text)
            XCTAssertTrue(text.contains("prompt + chosen + rejected"), text)
        }
        let pairs = try writePairs(TestPaths.fixture("dpo/llama-sigmoid"))
        let packed = try self.recipe(family: "llama", data: pairs, output: "packed", [("packing", .bool(true))])
        XCTAssertThrowsError(try TrainingRun(recipe: packed, modelFolder: URL(fileURLWithPath: packed.modelNameOrPath),
                                             compute: try TrainingBackend.choose(.cpu, accelerator: nil))) { error in
            XCTAssertTrue("\(error)".contains("packing"), "\(error)")
        }
    }
}
