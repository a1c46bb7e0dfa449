import Foundation
import TailorAdapters
import TailorModels
import TailorTensor
import TailorTestSupport
import TailorTraining
import XCTest

/// `tailor plan`'s planning: the table of methods, what fits a budget, the fallback to a lighter
/// method, the recipe it writes, and its errors.
final class MemoryPlanTests: XCTestCase {
    static let gb = 1_000_000_000

    func request(_ preset: String, memory: Int, method: MemoryEstimate.Method? = nil) throws -> MemoryPlan.Request {
        var request = MemoryPlan.Request(model: try PlanModel.preset(preset), budget: MemoryBudget(kind: .ram, available: memory, source: "test"))
        request.method = method
        request.seq = 512
        return request
    }

    /// Qwen2.5-1.5B fully fine-tuned in f32 needs about 25 GB (weights, gradients and AdamW's two states: 16 bytes a
    /// parameter); on a 23 GB machine the plan says so and recommends LoRA.
    func testFullFineTuningOfOnePointFiveBDoesNotFitIn23GB() throws {
        let plan = try MemoryPlan(try request("qwen2.5-1.5b", memory: 23 * Self.gb, method: .full))
        let full = try XCTUnwrap(plan.rows.first { $0.method == .full && $0.checkpointing })
        XCTAssertGreaterThan(full.estimate.total, 24 * Self.gb)
        XCTAssertEqual(full.estimate.weights + full.estimate.gradients + full.estimate.optimizer, 16 * ModelPresets.all["qwen2.5-1.5b"]!.parameterCount)
        XCTAssertFalse(full.fits)
        XCTAssertTrue(plan.notes.contains { $0.hasPrefix("full fine-tuning does not fit") }, "\(plan.notes)")
        XCTAssertTrue(plan.notes.contains("recommending LoRA instead of full fine-tuning"), "\(plan.notes)")
        let best = try XCTUnwrap(plan.recommendation)
        XCTAssertEqual(best.method, .lora)
        XCTAssertLessThanOrEqual(best.estimate.total, 23 * Self.gb / 100 * MemoryPlan.headroomPercent)
        XCTAssertEqual(best.batch * best.accumulation, 16, "gradient accumulation reaches the global batch")
    }

    /// Every method, without and with checkpointing, and the loss chunk never [N, V].
    func testTheTableHasEveryMethodBothWays() throws {
        let plan = try MemoryPlan(try request("smollm2-135m", memory: 23 * Self.gb))
        XCTAssertEqual(plan.rows.map { "\($0.method.rawValue) \($0.checkpointing)" },
                       ["full false", "full true", "lora false", "lora true", "qlora false", "qlora true"])
        for pair in stride(from: 0, to: plan.rows.count, by: 2) {
            XCTAssertLessThan(plan.rows[pair + 1].estimate.activations, plan.rows[pair].estimate.activations, "checkpointing keeps less")
        }
        let lora = plan.rows[2].estimate, qlora = plan.rows[4].estimate
        let config = ModelPresets.all["smollm2-135m"]!
        XCTAssertEqual(lora.weights, 4 * config.parameterCount, "the preset's f32 weights as stored")
        XCTAssertEqual(qlora.weights, config.weightBytes(dtype: .f32, quantization: FourBitQuantization(format: .nf4, doubleQuant: true)))
        XCTAssertLessThan(qlora.weights, lora.weights / 3, "4-bit linears against f32 (the f32 embeddings stay)")
        XCTAssertEqual(lora.loss, config.lossBytes(rows: 512), "512 tokens: fewer than the \(config.defaultLossChunkRows) rows of a chunk")
        var long = try request("smollm2-135m", memory: 23 * Self.gb)
        long.batch = 4
        let chunked = try MemoryPlan(long).rows[2].estimate
        XCTAssertEqual(chunked.loss, config.lossBytes(rows: config.defaultLossChunkRows), "2048 tokens: one chunk, never [2048, V]")
        XCTAssertTrue(plan.lines.contains { $0.hasPrefix("generation (tailor chat, serve)") && $0.contains("KV cache") })
    }

    /// The largest batch that fits, without checkpointing first on the CPU; with a small budget, checkpointing, then QLoRA.
    func testRecommendationsShrinkWithTheBudget() throws {
        let roomy = try XCTUnwrap(try MemoryPlan(try request("smollm2-135m", memory: 23 * Self.gb)).recommendation)
        XCTAssertEqual(roomy.method, .lora)
        XCTAssertEqual(roomy.batch, 16)
        XCTAssertEqual(roomy.accumulation, 1)
        XCTAssertFalse(roomy.checkpointing)

        let request = try request("qwen2.5-0.5b", memory: 23 * Self.gb)
        let oneRow = try MemoryPlan(request).rows.first { $0.method == .lora && !$0.checkpointing }!.estimate.total
        let tight = try XCTUnwrap(try MemoryPlan(try self.request("qwen2.5-0.5b", memory: oneRow)).recommendation)
        XCTAssertTrue(tight.checkpointing, "one row without checkpointing is over 85% of a budget of its own size")
        XCTAssertEqual(tight.method, .lora)
        let weights = try MemoryPlan(request).rows[2].estimate.weights
        let tiny = try XCTUnwrap(try MemoryPlan(try self.request("qwen2.5-0.5b", memory: weights)).recommendation)
        XCTAssertEqual(tiny.method, .qlora, "LoRA's f32 weights alone fill the budget")
        XCTAssertNil(try MemoryPlan(try self.request("qwen2.5-0.5b", memory: 1_000_000)).recommendation)
    }

    /// DPO's micro-batch of B pairs is 2B sequences; no second model.
    func testDPOCountsChosenAndRejected() throws {
        var dpo = try request("smollm2-135m", memory: 23 * Self.gb)
        dpo.stage = .dpo
        dpo.batch = 2
        var sft = dpo
        sft.stage = .sft
        sft.batch = 4
        let (a, b) = (try MemoryPlan(dpo).rows, try MemoryPlan(sft).rows)
        XCTAssertEqual(a.map(\.estimate), b.map(\.estimate))
        XCTAssertTrue(try MemoryPlan(dpo).notes.contains { $0.contains("no second copy of the model") })
    }

    /// The recipe uses the key table's names and reads back as what was recommended.
    func testTheRecipeIsTheRecommendation() throws {
        var request = try request("qwen2.5-1.5b", memory: 23 * Self.gb, method: .full)
        request.datasets = ["data.json"]
        let plan = try MemoryPlan(request)
        let recipe = try plan.recipe(), best = try XCTUnwrap(plan.recommendation)
        XCTAssertEqual(recipe.finetuningType, .lora)
        XCTAssertEqual(recipe.training.perDeviceTrainBatchSize, best.batch)
        XCTAssertEqual(recipe.training.gradientAccumulationSteps, best.accumulation)
        XCTAssertEqual(recipe.training.gradientCheckpointing, best.checkpointing)
        XCTAssertEqual(recipe.maxSeqLength, best.seq)
        XCTAssertFalse(recipe.bf16, "the CPU computes in fp32")
        XCTAssertEqual(recipe.datasets, ["data.json"])
        let yaml = try plan.yaml()
        XCTAssertTrue(yaml.contains("per_device_train_batch_size: \(best.batch)\n"), yaml)
        XCTAssertTrue(yaml.contains("# a preset has no weights: set model_name_or_path"), yaml)
        for line in yaml.split(separator: "\n") where !line.hasPrefix("#") {
            let key = String(line.split(separator: ":")[0])
            XCTAssertNotNil(RecipeKeys.entry(key), "\(key) is a recipe key")
        }
    }

    func testBadRequestsSayWhat() throws {
        var request = try request("smollm2-135m", memory: 23 * Self.gb)
        request.seq = 0
        XCTAssertThrowsError(try MemoryPlan(request)) { XCTAssertTrue("\($0)".contains("seq") && "\($0)".contains("positive"), "\($0)") }
        request.seq = 128
        request.batch = -1
        XCTAssertThrowsError(try MemoryPlan(request)) { XCTAssertTrue("\($0)".contains("batch"), "\($0)") }
        XCTAssertThrowsError(try PlanModel.preset("gpt-9")) { XCTAssertTrue("\($0)".contains("smollm2-135m"), "\($0)") }
    }

    /// A folder holding only config.json is enough; a folder without one is refused, naming it.
    func testAModelByItsConfigAlone() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("tailor-plan-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        XCTAssertThrowsError(try PlanModel.load(folder)) { error in
            XCTAssertTrue("\(error)".contains(folder.path) && "\(error)".contains("without config.json"), "\(error)")
        }
        let config = folder.appendingPathComponent("config.json")
        try FileManager.default.copyItem(at: TestPaths.fixture("generation/chat-llama/config.json"), to: config)
        for path in [folder, config] {
            let model = try PlanModel.load(path)
            XCTAssertEqual(model.config.hiddenSize, 32)
            XCTAssertEqual(model.weightDType, .f32, "config.json's dtype")
            XCTAssertEqual(model.nameOrPath, folder.path)
        }
        XCTAssertThrowsError(try PlanModel.load(folder.appendingPathComponent("nothing"))) { XCTAssertTrue("\($0)".contains("does not exist"), "\($0)") }
    }
}
