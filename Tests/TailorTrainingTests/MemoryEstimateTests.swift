import Foundation
import TailorAdapters
import TailorModels
import TailorTensor
import TailorTestSupport
import TailorTraining
import XCTest

/// The peak-memory estimate `tailor train --dry-run` prints, part by part.
final class MemoryEstimateTests: XCTestCase {
    func testPartsOfALoRAAndAFullRun() throws {
        let backend = try CPUBackend()
        let model = try CausalLM.load(folder: TestPaths.fixture("models/llama"), backend: backend)
        let weights = model.namedParameters.reduce(0) { $0 + $1.tensor.byteCount }
        let adapters = try LoRAAdapters.attach(to: model, config: LoRAConfig(r: 4, targetModules: .allLinear))
        let lora = MemoryEstimate(model: model, trainable: .lora(adapters), tokens: 64, checkpointing: false, optimizerStates: 2)
        XCTAssertEqual(lora.weights, weights, "the adapters are not model parameters")
        XCTAssertEqual(lora.trainable, adapters.parameterCount * 4 * (1 + 2 + 1), "gradient, exp_avg, exp_avg_sq and the adapter's values")
        // Each module keeps x · Aᵀ [64, 4]; the shared workspace holds dOut · B [64, 4] (no dropout here).
        XCTAssertEqual(lora.activations, model.config.activationBytes(tokens: 64, checkpointing: false) + 4 * 64 * 4 * (adapters.modules.count + 1))
        XCTAssertEqual(lora.loss, model.config.lossBytes(rows: min(64, model.lossChunkRows)))
        XCTAssertEqual(lora.runtime, MemoryEstimate.cpuRuntimeBytes, "the process's own memory, measured on the CPU")
        XCTAssertEqual(lora.total, lora.weights + lora.trainable + lora.activations + lora.loss + lora.runtime)

        try adapters.detach(from: model)
        let parameters = try FullFineTuning.prepare(model)
        let full = MemoryEstimate(model: model, trainable: .full(parameters), tokens: 64, checkpointing: true, optimizerStates: 1)
        XCTAssertEqual(full.trainable, parameters.reduce(0) { $0 + $1.value.count } * 4 * 2, "gradient and SGD's momentum; the values are the weights")
        XCTAssertEqual(full.activations, model.config.activationBytes(tokens: 64, checkpointing: true))
    }

    func testSummaryInGigabytes() throws {
        let model = try CausalLM.load(folder: TestPaths.fixture("models/llama"), backend: try CPUBackend())
        let estimate = MemoryEstimate(model: model, trainable: .full(try FullFineTuning.prepare(model)), tokens: 1 << 20,
                                      checkpointing: false, optimizerStates: 2)
        let gb = { (bytes: Int) in String(format: "%.2f GB", Double(bytes) / 1e9) }
        XCTAssertEqual(estimate.summary, "\(gb(estimate.total)) (weights \(gb(estimate.weights)), trainable state \(gb(estimate.trainable)), "
                       + "activations \(gb(estimate.activations)), loss chunk \(gb(estimate.loss)), runtime \(gb(estimate.runtime)))")
        XCTAssertGreaterThan(estimate.activations, 1_000_000_000, "a million tokens make gigabytes of activations")
    }

    /// What LoRA holds after a real forward and backward is what the estimate counts for it.
    func testLoRABuffersAfterAStepAreTheEstimatesShare() throws {
        let backend = try CPUBackend()
        let model = try CausalLM.load(folder: TestPaths.fixture("models/llama"), backend: backend)
        let config = LoRAConfig(r: 4, loraDropout: 0.1, targetModules: .allLinear)
        let adapters = try LoRAAdapters.attach(to: model, config: config)
        for module in adapters.modules { module.lora.dropoutSeed = 7 }
        let ids: [Int32] = (0..<16).map { Int32($0 % 7 + 1) }
        let batch = try TokenBatch(sequences: [(ids, ids)])
        let gradients = GradientStore()
        for parameter in adapters.parameters { try gradients.add(parameter.name, shape: parameter.value.shape, backend: backend) }
        _ = try model.forwardBackward(batch, gradients: gradients)
        let kept = adapters.modules.reduce(0) { $0 + $1.lora.savedByteCount }
        let workspace = adapters.modules[0].lora.workspace
        XCTAssertTrue(adapters.modules.allSatisfy { $0.lora.workspace === workspace }, "one workspace per adapter set")
        XCTAssertEqual(kept, 4 * 16 * 4 * adapters.modules.count, "x · Aᵀ [16, 4] per module")
        XCTAssertGreaterThan(workspace.byteCount, 4 * 16 * 4, "dOut · B and, with dropout, the dropped input")
        let estimate = MemoryEstimate(model: model, trainable: .lora(adapters), tokens: 16, checkpointing: false, optimizerStates: 2)
        // The estimate sizes both dropout buffers for the widest input (64, down_proj's); the step
        // needed the input gradient's only for inputs of 32: an upper bound, by at most that buffer.
        let share = estimate.activations - model.config.activationBytes(tokens: 16, checkpointing: false)
        XCTAssertLessThanOrEqual(kept + workspace.byteCount, share, "the estimate's LoRA share bounds what the step held")
        XCTAssertGreaterThanOrEqual(kept + workspace.byteCount, share - 4 * 16 * 64, "and by no more than one [16, 64] buffer")
    }
}

/// The estimate from a config alone (what `tailor plan` uses), part by part by hand, and equal to
/// the estimate of the loaded model (what `tailor train --dry-run` prints) for the same run.
final class MemoryEstimateConfigTests: XCTestCase {
    /// Llama, vocab 10, hidden 4, intermediate 6, 1 layer, 2 heads of 2, 1 KV head: every number below by hand.
    let tiny = ModelConfig(architecture: .llama, vocabSize: 10, hiddenSize: 4, intermediateSize: 6, layerCount: 1,
                           headCount: 2, kvHeadCount: 1, tieWordEmbeddings: false)

    func testPartsOfATinyConfigByHand() throws {
        // Parameters: q 4·4 + k 4·2 + v 4·2 + o 4·4 + gate/up/down 3·4·6 + 2 norms of 4 = 128 per layer;
        // embeddings and lm_head 2·10·4 = 80; final norm 4: 212.
        XCTAssertEqual(tiny.parameterCount, 212)
        let lora = try MemoryEstimate(config: tiny, method: .lora, weightDType: .bf16, lora: LoRAConfig(r: 2, targetModules: .allLinear),
                                      tokens: 3, checkpointing: false, optimizerStates: 2, runtimeBytes: 100)
        XCTAssertEqual(lora.weights, 212 * 2, "bf16 weights as stored")
        // LoRA values r·(in + out): q 2·8, k 2·6, v 2·6, o 2·8, gate 2·10, up 2·10, down 2·10 = 116.
        XCTAssertEqual(lora.gradients, 116 * 4)
        XCTAssertEqual(lora.optimizer, 116 * 4 * 2, "AdamW's exp_avg and exp_avg_sq")
        XCTAssertEqual(lora.adapterValues, 116 * 4)
        XCTAssertEqual(lora.trainable, 116 * 4 * 4)
        // A layer keeps, per token, x 4, rstd 1, q 4, k 2, v 2, attention 4, lse 2, h 4, rstd 1 (= 24) and gate, up 2·6 in f32;
        // the scratch holds 5·4 + 4·6 + 2·4 + 2·2 + 1 = 57: 3 tokens · (36 + 57) = 279 floats.
        // LoRA keeps x·Aᵀ [3, 2] for each of 7 modules and dOut·B [3, 2]: 3 · 2 · 8 = 48 floats.
        XCTAssertEqual(lora.activations, 4 * (279 + 48))
        // The loss chunk: min(3 tokens, chunk rows) rows of vocab 10 + 2·hidden 4 + 1 = 19 floats.
        XCTAssertEqual(lora.loss, 4 * 3 * 19)
        XCTAssertEqual(lora.runtime, 100)
        XCTAssertEqual(lora.total, 424 + 1856 + 1308 + 228 + 100)

        let checkpointed = try MemoryEstimate(config: tiny, method: .lora, weightDType: .bf16, lora: LoRAConfig(r: 2, targetModules: .allLinear),
                                              tokens: 3, checkpointing: true, optimizerStates: 2, runtimeBytes: 100)
        // Checkpointing keeps each layer's input (4 per token) plus one layer's recompute set (36): 3 · (4 + 36 + 57) + LoRA's 48.
        XCTAssertEqual(checkpointed.activations, 4 * (3 * (4 + 36 + 57) + 48))

        let full = try MemoryEstimate(config: tiny, method: .full, weightDType: .bf16, lora: LoRAConfig(),
                                      tokens: 3, checkpointing: false, optimizerStates: 1, runtimeBytes: 0)
        XCTAssertEqual(full.weights, 212 * 4, "full fine-tuning trains f32 copies")
        XCTAssertEqual(full.gradients, 212 * 4)
        XCTAssertEqual(full.optimizer, 212 * 4, "one state (SGD with momentum)")
        XCTAssertEqual(full.adapterValues, 0)
        XCTAssertEqual(full.activations, 4 * 279)

        // QLoRA: the 7 linears' 120 weights in 4-bit blocks of 64 with double quantization; the other 92 parameters bf16.
        let qlora = try MemoryEstimate(config: tiny, method: .qlora, weightDType: .bf16, lora: LoRAConfig(r: 2, targetModules: .allLinear),
                                       tokens: 3, checkpointing: false, optimizerStates: 2, runtimeBytes: 0)
        // Per linear of n weights: n/2 packed bytes, one 8-bit absmax code, one f32 nested absmax, the offset, the 256-entry map.
        let linears = [16, 8, 8, 16, 24, 24, 24].reduce(0) { $0 + $1 / 2 + 1 + 4 + 4 + 1024 }
        XCTAssertEqual(qlora.weights, linears + 92 * 2)
        XCTAssertEqual(qlora.trainable, lora.trainable)
    }

    func testTargetModulesAndRanksCount() throws {
        var config = LoRAConfig(r: 2, targetModules: .names(["q_proj", "v_proj"]))
        config.rankPattern = [(pattern: "v_proj", value: 4)]
        let estimate = try MemoryEstimate(config: tiny, method: .lora, weightDType: .f32, lora: config,
                                          tokens: 1, checkpointing: false, optimizerStates: 2)
        XCTAssertEqual(estimate.gradients, 4 * (2 * 8 + 4 * 6), "q r 2 · (4 + 4), v r 4 · (4 + 2)")
        XCTAssertThrowsError(try MemoryEstimate(config: tiny, method: .lora, weightDType: .f32,
                                                lora: LoRAConfig(targetModules: .names(["c_attn"])), tokens: 1, checkpointing: false,
                                                optimizerStates: 2)) { error in
            XCTAssertTrue("\(error)".contains("c_attn"), "\(error)")
        }
    }

    /// The config-only estimate and the loaded model's agree, part by part, for LoRA (with dropout),
    /// QLoRA and full fine-tuning: one estimator.
    func testConfigEstimateEqualsTheLoadedModels() throws {
        let backend = try CPUBackend()
        let folder = TestPaths.fixture("models/llama")
        let config = try ModelConfig(contentsOf: folder.appendingPathComponent("config.json"))
        let loraConfig = LoRAConfig(r: 4, loraDropout: 0.1, targetModules: .allLinear)
        for method in MemoryEstimate.Method.allCases {
            let quantization = method == .qlora ? FourBitQuantization(format: .nf4, doubleQuant: true) : nil
            let model = try CausalLM.load(folder: folder, backend: backend, quantization: quantization)
            let trainable: TrainableSet = method == .full ? .full(try FullFineTuning.prepare(model))
                : .lora(try LoRAAdapters.attach(to: model, config: loraConfig))
            for checkpointing in [false, true] {
                let loaded = MemoryEstimate(model: model, trainable: trainable, tokens: 24, checkpointing: checkpointing, optimizerStates: 2)
                let planned = try MemoryEstimate(config: config, method: method, weightDType: .f32, lora: loraConfig, quantization: quantization,
                                                 tokens: 24, checkpointing: checkpointing, optimizerStates: 2)
                XCTAssertEqual(planned, loaded, "\(method), checkpointing \(checkpointing)")
            }
        }
    }
}
