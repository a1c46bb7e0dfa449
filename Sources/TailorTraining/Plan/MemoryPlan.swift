import TailorAdapters
import TailorModels

/// `tailor plan`: each method's memory by part (with and without gradient checkpointing) from
/// `MemoryEstimate`, the same estimate `tailor train --dry-run` prints, against a memory budget,
/// and the recipe that fits: method, micro-batch, gradient accumulation to the global batch,
/// checkpointing and max_seq_length.
public struct MemoryPlan: Sendable {
    /// What to plan.
    public struct Request: Sendable {
        public var model: PlanModel
        /// nil: LoRA, or QLoRA where LoRA does not fit. A method that does not fit falls back to a lighter one.
        public var method: MemoryEstimate.Method?
        /// sft (also pt) or dpo.
        public var stage: TrainRecipe.Stage = .sft
        /// Tokens per sequence (max_seq_length).
        public var seq: Int = TrainRecipe.defaultMaxSeqLength
        /// Rows per micro-batch (per_device_train_batch_size); nil: the largest that fits, up to `globalBatch`.
        public var batch: Int?
        /// Rows per optimizer step the recipe reaches with gradient accumulation.
        public var globalBatch: Int = 16
        /// nil: off where the run fits without it.
        public var checkpointing: Bool?
        public var device: TrainRecipe.Device = .cpu
        public var lora = TrainRecipe().lora
        /// TrainingArguments.optim's f32 states per trained value (AdamW: 2).
        public var optimizerStates: Int = 2
        /// Bytes of one state value (`TrainingArguments.optimizerStateBytes`).
        public var optimizerStateBytes: Double = 4
        public var budget: MemoryBudget
        /// Data files for the recipe's dataset key (none: the recipe asks for them).
        public var datasets: [String] = []

        public init(model: PlanModel, budget: MemoryBudget) { (self.model, self.budget) = (model, budget) }
    }

    /// One method at the request's batch and seq, with or without checkpointing.
    public struct Row: Sendable {
        public var method: MemoryEstimate.Method
        public var checkpointing: Bool
        public var estimate: MemoryEstimate
        public var fits: Bool
    }

    /// The run the plan recommends.
    public struct Recommendation: Sendable {
        public var method: MemoryEstimate.Method
        public var batch: Int
        public var accumulation: Int
        public var checkpointing: Bool
        public var seq: Int
        public var estimate: MemoryEstimate
    }

    public let request: Request
    /// Every method, without then with checkpointing, at `request.batch` (1 when unset) and `request.seq`.
    public let rows: [Row]
    /// nil when nothing fits, not even QLoRA at one row of 128 tokens with checkpointing.
    public let recommendation: Recommendation?
    /// Why the recommendation differs from what was asked, and what the plan assumed.
    public let notes: [String]

    /// The percentage of the budget a recommended run may fill: the estimate is within ±15% of the measured peak.
    public static let headroomPercent = 85

    /// Plans `request`.
    /// - Throws: `TrainingError.invalidValue` for a seq, batch or global batch that is not positive;
    ///   `AdapterError` when the LoRA settings target none of the model's linears.
    public init(_ request: Request) throws {
        guard request.seq > 0 else { throw TrainingError.invalidValue(key: "seq", problem: "must be a positive number of tokens (got \(request.seq))") }
        if let batch = request.batch, batch <= 0 {
            throw TrainingError.invalidValue(key: "batch", problem: "must be a positive number of rows (got \(batch))")
        }
        guard request.globalBatch > 0 else {
            throw TrainingError.invalidValue(key: "global-batch", problem: "must be a positive number of rows (got \(request.globalBatch))")
        }
        guard [.sft, .pt, .dpo].contains(request.stage) else {
            throw TrainingError.invalidValue(key: "stage", problem: "plans sft, pt or dpo (got \(request.stage.rawValue))")
        }
        self.request = request
        let limit = request.budget.available / 100 * Self.headroomPercent
        let shown = request.batch ?? 1
        rows = try MemoryEstimate.Method.allCases.flatMap { method in
            try [false, true].map { checkpointing in
                let estimate = try Self.estimate(request, method: method, batch: shown, seq: request.seq, checkpointing: checkpointing)
                return Row(method: method, checkpointing: checkpointing, estimate: estimate, fits: estimate.total <= limit)
            }
        }
        var notes = request.model.notes
        let asked: MemoryEstimate.Method = request.method ?? .lora
        let order: [MemoryEstimate.Method] = asked == .full ? [.full, .lora, .qlora] : asked == .lora ? [.lora, .qlora] : [.qlora]
        var found: Recommendation?
        for method in order {
            found = try Self.fit(request, method: method, limit: limit)
            if found != nil { break }
            let least = try Self.estimate(request, method: method, batch: 1, seq: request.seq, checkpointing: true)
            let what = method == .full ? "full fine-tuning" : method == .lora ? "LoRA" : "QLoRA"
            notes.append("\(what) does not fit: \(MemoryEstimate.gigabytes(least.total)) at one row of \(request.seq) tokens with gradient checkpointing"
                         + " (\(Self.parts(least))), more than \(Self.headroomPercent)% of \(request.budget.summary)")
        }
        if let found, found.method != asked {
            notes.append("recommending \(found.method == .lora ? "LoRA" : "QLoRA") instead of \(asked == .full ? "full fine-tuning" : "LoRA")")
        }
        if let found, found.seq < request.seq {
            notes.append("max_seq_length lowered from \(request.seq) to \(found.seq) so that one row fits; longer samples are truncated")
        }
        if request.stage == .dpo {
            notes.append("dpo: a micro-batch of B pairs runs 2B sequences (chosen, then rejected); the reference is the base under the disabled"
                         + " adapter, or log-probabilities computed once before the first step (full fine-tuning, adapter_name_or_path,"
                         + " precompute_ref_log_probs): no second copy of the model either way")
        }
        recommendation = found
        self.notes = notes
    }

    /// The estimate of one configuration.
    static func estimate(_ request: Request, method: MemoryEstimate.Method, batch: Int, seq: Int, checkpointing: Bool) throws -> MemoryEstimate {
        let onDevice = request.device == .cuda
        let sequences = batch * (request.stage == .dpo ? 2 : 1)
        return try MemoryEstimate(config: request.model.config, method: method, weightDType: request.model.weightDType, lora: request.lora,
                                  tokens: sequences * seq, checkpointing: checkpointing, optimizerStates: request.optimizerStates,
                                  optimizerStateBytes: request.optimizerStateBytes,
                                  savedActivationBytes: onDevice ? 2 : 4, runtimeBytes: onDevice ? 0 : MemoryEstimate.cpuRuntimeBytes)
    }

    /// The first configuration of `method` that fits: on the CPU without checkpointing first (it costs a
    /// third more compute, while the micro-batch size barely changes the CPU's speed), the largest batch
    /// first; on a GPU the largest batch first (its speed grows with it), without checkpointing first;
    /// the sequence halved (down to 128) only when one row does not fit.
    static func fit(_ request: Request, method: MemoryEstimate.Method, limit: Int) throws -> Recommendation? {
        var batches = request.batch.map { [$0] } ?? []
        if batches.isEmpty {
            var b = 1
            while b <= min(request.globalBatch, 64) { batches.insert(b, at: 0); b *= 2 }
        }
        let checkpointing = request.checkpointing.map { [$0] } ?? [false, true]
        var seqs = [request.seq], s = request.seq / 2
        while s >= 128 { seqs.append(s); s /= 2 }
        var candidates: [(batch: Int, checkpointing: Bool)] = []
        if request.device == .cuda {
            for b in batches { for c in checkpointing { candidates.append((b, c)) } }
        } else {
            for c in checkpointing { for b in batches { candidates.append((b, c)) } }
        }
        for seq in seqs {
            for candidate in candidates {
                let estimate = try Self.estimate(request, method: method, batch: candidate.batch, seq: seq, checkpointing: candidate.checkpointing)
                guard estimate.total <= limit else { continue }
                let accumulation = max(1, (request.globalBatch + candidate.batch - 1) / candidate.batch)
                return Recommendation(method: method, batch: candidate.batch, accumulation: accumulation,
                                      checkpointing: candidate.checkpointing, seq: seq, estimate: estimate)
            }
        }
        return nil
    }

    /// "weights 0.54 GB, gradients 0.54 GB, ...".
    static func parts(_ e: MemoryEstimate) -> String {
        let gb = MemoryEstimate.gigabytes
        return "weights \(gb(e.weights)), gradients \(gb(e.gradients)), optimizer \(gb(e.optimizer)), adapters \(gb(e.adapterValues)),"
            + " activations \(gb(e.activations)), loss chunk \(gb(e.loss)), runtime \(gb(e.runtime))"
    }
}
