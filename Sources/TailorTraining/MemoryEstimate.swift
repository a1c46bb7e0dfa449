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
        loss = model.config.lossBytes(rows: min(tokens, model.lossChunkRows))
    }

    /// The sum of the parts.
    public var total: Int { weights + trainable + activations + loss }

    /// "1.23 GB (weights 0.50 GB, trainable state 0.01 GB, activations 0.70 GB, loss chunk 0.02 GB)".
    public var summary: String {
        let gb = { (bytes: Int) in NumberText.fixed(Double(bytes) / 1e9, 2) + " GB" }
        return "\(gb(total)) (weights \(gb(weights)), trainable state \(gb(trainable)), activations \(gb(activations)), loss chunk \(gb(loss)))"
    }
}
