import TailorModels
import TailorTensor

/// A run's peak memory, estimated before it starts, in parts: what `tailor train --dry-run` prints
/// and what `tailor plan` tables and plans with. Bytes throughout.
///
/// One set of formulas (`init(shape:)`); the other initializers only say what the run's shape is:
/// from a loaded model and its trainable set (`init(model:trainable:...)`), or from a config.json
/// before any weight is read (`init(config:method:...)` in `MemoryEstimate+Config`). A test checks
/// that both give the same numbers for the same run.
public struct MemoryEstimate: Sendable, Equatable {
    /// The model's parameters as stored (bf16, f32 or 4-bit blocks; full fine-tuning's trained f32 copies).
    public let weights: Int
    /// One f32 gradient per trained value.
    public let gradients: Int
    /// The optimizer's f32 states per trained value (AdamW: exp_avg, exp_avg_sq; SGD: momentum or none).
    public let optimizer: Int
    /// The adapters' own f32 values (A, B, DoRA magnitudes, modules_to_save copies); 0 for full fine-tuning,
    /// whose values are the weights.
    public let adapterValues: Int
    /// Activations one forward + backward keeps (`ModelConfig.activationBytes`), plus LoRA's.
    public let activations: Int
    /// The chunked cross-entropy's buffers (`ModelConfig.lossBytes`): `lossChunkRows` rows of logits, never [N, V].
    public let loss: Int
    /// What the process holds besides: code, the Swift and BLAS runtimes and their thread buffers,
    /// the tokenizer and data (`MemoryEstimate.cpuRuntimeBytes` on the CPU; 0 for device memory).
    public let runtime: Int

    /// What a run is, for the estimate: shapes and counts only, no tensors.
    public struct Shape: Sendable, Equatable {
        /// A LoRA module, as its activations need it: rank and input width.
        public struct AdapterModule: Sendable, Equatable {
            public var rank: Int
            public var inFeatures: Int
            public init(rank: Int, inFeatures: Int) { (self.rank, self.inFeatures) = (rank, inFeatures) }
        }

        public var config: ModelConfig
        /// Bytes of the model's parameters as they will be stored.
        public var weightBytes: Int
        /// f32 values the optimizer trains.
        public var trainedValues: Int
        /// The LoRA modules (empty for full fine-tuning); their values are not among `weightBytes`.
        public var adapterModules: [AdapterModule]
        /// Whether any adapter module has dropout (its dropped input and input-gradient buffers).
        public var adapterDropout: Bool
        /// Tokens of one micro-batch (a preference micro-batch counts chosen and rejected sequences).
        public var tokens: Int
        public var checkpointing: Bool
        /// States per trained value (`TrainingArguments.optimizerStatesPerParameter`).
        public var optimizerStates: Int
        /// Bytes of one state value (`TrainingArguments.optimizerStateBytes`: 4 in f32, about 1 in 8 bits).
        public var optimizerStateBytes: Double
        /// Bytes per value of the saved gate/up activations (`CausalLM.savedActivationDType`).
        public var savedActivationBytes: Int
        /// `CausalLM.lossChunkRows`.
        public var lossChunkRows: Int
        /// `MemoryEstimate.runtime`.
        public var runtimeBytes: Int

        public init(config: ModelConfig, weightBytes: Int, trainedValues: Int, adapterModules: [AdapterModule], adapterDropout: Bool,
                    tokens: Int, checkpointing: Bool, optimizerStates: Int, optimizerStateBytes: Double = 4, savedActivationBytes: Int = 4,
                    lossChunkRows: Int? = nil, runtimeBytes: Int = MemoryEstimate.cpuRuntimeBytes) {
            self.config = config
            self.weightBytes = weightBytes
            self.trainedValues = trainedValues
            self.adapterModules = adapterModules
            self.adapterDropout = adapterDropout
            self.tokens = tokens
            self.checkpointing = checkpointing
            self.optimizerStates = optimizerStates
            self.optimizerStateBytes = optimizerStateBytes
            self.savedActivationBytes = savedActivationBytes
            self.lossChunkRows = lossChunkRows ?? config.defaultLossChunkRows
            self.runtimeBytes = runtimeBytes
        }

        public var isAdapter: Bool { !adapterModules.isEmpty }
    }

    /// What the process holds on the CPU beyond the parts the formulas count, measured: the peak RSS of
    /// `tailor bench train` runs less their counted parts, on the configurations BENCHMARKS.md tables
    /// ("Memory: tailor plan against the measured peak").
    public static let cpuRuntimeBytes = 80_000_000

    /// The estimate of a run of `shape`.
    public init(shape s: Shape) {
        weights = s.weightBytes
        gradients = 4 * s.trainedValues
        optimizer = Int((s.optimizerStateBytes * Double(s.optimizerStates * s.trainedValues)).rounded(.up))  // allowed: bytes of host memory, far below 2^53
        adapterValues = s.isAdapter ? 4 * s.trainedValues : 0
        activations = s.config.activationBytes(tokens: s.tokens, checkpointing: s.checkpointing, savedBytes: s.savedActivationBytes)
            + Self.adapterActivationBytes(s.adapterModules, dropout: s.adapterDropout, tokens: s.tokens)
        loss = s.config.lossBytes(rows: min(s.tokens, s.lossChunkRows))
        runtime = s.runtimeBytes
    }

    /// - Parameters:
    ///   - tokens: tokens of one micro-batch.
    ///   - checkpointing: gradient checkpointing (only each layer's input is kept).
    ///   - optimizerStates: f32 states per trained value (AdamW: 2, exp_avg and exp_avg_sq).
    ///   - runtimeBytes: `runtime` (0 where the estimate is of device memory).
    public init(model: CausalLM, trainable set: TrainableSet, tokens: Int, checkpointing: Bool, optimizerStates: Int,
                optimizerStateBytes: Double = 4, runtimeBytes: Int = MemoryEstimate.cpuRuntimeBytes) {
        var modules: [Shape.AdapterModule] = [], dropout = false
        if case let .lora(adapters) = set {
            modules = adapters.modules.map { Shape.AdapterModule(rank: $0.lora.rank, inFeatures: $0.lora.a.shape[1]) }
            dropout = adapters.modules.contains { $0.lora.dropout > 0 }
        }
        self.init(shape: Shape(config: model.config, weightBytes: model.namedParameters.reduce(0) { $0 + $1.tensor.byteCount },
                               trainedValues: set.parameterCount, adapterModules: modules, adapterDropout: dropout, tokens: tokens,
                               checkpointing: checkpointing, optimizerStates: optimizerStates, optimizerStateBytes: optimizerStateBytes,
                               savedActivationBytes: model.savedActivationDType.byteSize, lossChunkRows: model.lossChunkRows,
                               runtimeBytes: runtimeBytes))
    }

    /// What LoRA keeps and uses beside the layers' activations: each module's x · Aᵀ [N, r] (kept
    /// for the backward), and the set's shared workspace: dOut · B [N, r] and, with dropout, the
    /// dropped input and the masked input gradient [N, in] of the widest module.
    static func adapterActivationBytes(_ modules: [Shape.AdapterModule], dropout: Bool, tokens: Int) -> Int {
        let ranks = modules.reduce(0) { $0 + $1.rank }, widestRank = modules.map(\.rank).max() ?? 0
        let widestInput = modules.map(\.inFeatures).max() ?? 0
        return 4 * tokens * (ranks + widestRank + (dropout ? 2 * widestInput : 0))
    }

    /// Gradients, optimizer states and the adapters' values: the state that exists because something trains.
    public var trainable: Int { gradients + optimizer + adapterValues }

    /// The sum of the parts.
    public var total: Int { weights + trainable + activations + loss + runtime }

    /// "1.23 GB (weights 0.50 GB, trainable state 0.01 GB, activations 0.70 GB, loss chunk 0.02 GB, runtime 0.08 GB)".
    public var summary: String {
        let gb = MemoryEstimate.gigabytes
        return "\(gb(total)) (weights \(gb(weights)), trainable state \(gb(trainable)), activations \(gb(activations)), loss chunk \(gb(loss)), "
            + "runtime \(gb(runtime)))"
    }

    /// "1.23 GB".
    public static func gigabytes(_ bytes: Int) -> String { NumberText.fixed(Double(bytes) / 1e9, 2) + " GB" }
}
