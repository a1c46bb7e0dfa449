import TailorModels
import TailorTensor

/// A run's peak memory, estimated before it starts (what `tailor train --dry-run` reports), in parts.
/// Bytes throughout.
public struct MemoryEstimate: Sendable, Equatable {
    /// The model's parameters as stored (bf16, f32 or quantized blocks; trainable f32 copies included).
    public let weights: Int
    /// Gradients and optimizer states of the trained tensors, plus the adapters' own values.
    public let trainable: Int
    /// Activations one forward + backward keeps (`ModelConfig.activationBytes`).
    public let activations: Int
    /// The chunked cross-entropy's buffers (`ModelConfig.lossBytes`).
    public let loss: Int

    /// - Parameters:
    ///   - tokens: tokens of one micro-batch.
    ///   - checkpointing: gradient checkpointing (only each layer's input is kept).
    ///   - optimizerStates: f32 states per trained value (AdamW: 2, exp_avg and exp_avg_sq).
    public init(model: CausalLM, trainable set: TrainableSet, tokens: Int, checkpointing: Bool, optimizerStates: Int) {
        weights = model.namedParameters.reduce(0) { $0 + $1.tensor.byteCount }
        // gradient + optimizer state (AdamW: exp_avg, exp_avg_sq); values are counted in weights or adapters
        trainable = set.parameterCount * 4 * (1 + optimizerStates)
            + (set.isAdapter ? set.parameterCount * 4 : 0)
        activations = model.config.activationBytes(tokens: tokens, checkpointing: checkpointing,
                                                   savedBytes: model.savedActivationDType.byteSize)
            + Self.adapterActivationBytes(set, tokens: tokens)
        loss = model.config.lossBytes(rows: min(tokens, model.lossChunkRows))
    }

    /// What LoRA keeps and uses beside the layers' activations: each module's x · Aᵀ [N, r] (kept
    /// for the backward), and the set's shared workspace: dOut · B [N, r] and, with dropout, the
    /// dropped input and the masked input gradient [N, in] of the widest module.
    static func adapterActivationBytes(_ set: TrainableSet, tokens: Int) -> Int {
        guard case let .lora(adapters) = set else { return 0 }
        let modules = adapters.modules.map(\.lora)
        let ranks = modules.reduce(0) { $0 + $1.rank }, widestRank = modules.map(\.rank).max() ?? 0
        let widestInput = modules.map { $0.a.shape[1] }.max() ?? 0
        let dropout = modules.contains { $0.dropout > 0 }
        return 4 * tokens * (ranks + widestRank + (dropout ? 2 * widestInput : 0))
    }

    /// The sum of the parts.
    public var total: Int { weights + trainable + activations + loss }

    /// "1.23 GB (weights 0.50 GB, trainable state 0.01 GB, activations 0.70 GB, loss chunk 0.02 GB)".
    public var summary: String {
        let gb = { (bytes: Int) in NumberText.fixed(Double(bytes) / 1e9, 2) + " GB" }
        return "\(gb(total)) (weights \(gb(weights)), trainable state \(gb(trainable)), activations \(gb(activations)), loss chunk \(gb(loss)))"
    }
}
