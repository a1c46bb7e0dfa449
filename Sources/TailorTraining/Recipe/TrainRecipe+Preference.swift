extension TrainRecipe {
    /// LLaMA-Factory's `stage`: what the run minimises.
    public enum Stage: String, Sendable, CaseIterable {
        /// Supervised fine-tuning on the data's labels (the default).
        case sft
        /// Pre-training on plain text: the same loss; the data's format decides the labels.
        case pt
        /// Direct Preference Optimization over prompt / chosen / rejected pairs (TRL's DPOTrainer).
        case dpo
        /// KTO over unpaired examples with a desirable / undesirable label (TRL's KTOTrainer).
        case kto
    }
}

/// The preference stage's settings, by TRL's DPOConfig names (LLaMA-Factory's in the aliases):
/// `RecipeKeys` reads them, `TrainingRun` makes the objective of them.
public struct PreferenceSettings: Sendable, Equatable {
    /// The preference losses Tailor computes, by TRL's and LLaMA-Factory's names.
    public enum Loss: String, Sendable, CaseIterable {
        /// DPO's losses (TRL's DPOTrainer), against a reference; several may be summed.
        case sigmoid, hinge, ipo, robust
        case exoPair = "exo_pair", ncaPair = "nca_pair", bcoPair = "bco_pair", sppoHard = "sppo_hard"
        case apoZero = "apo_zero", apoDown = "apo_down", sft, sigmoidNorm = "sigmoid_norm"
        /// SimPO (TRL's CPOTrainer with loss_type simpo): reference-free, on mean log-probabilities.
        case simpo
        /// ORPO (TRL's ORPOTrainer): reference-free, NLL plus the odds-ratio term, with beta as λ.
        case orpo

        /// The DPO loss this is, or nil for a reference-free objective of its own.
        public var dpo: DPOObjective.LossType? { DPOObjective.LossType(rawValue: rawValue) }
    }

    /// `loss_type` (LLaMA-Factory: `pref_loss`): one loss, or several DPO losses summed with `lossWeights`.
    public var losses: [Loss] = [.sigmoid]
    /// `loss_weights`: one per loss (nil: 1 each, as TRL).
    public var lossWeights: [Double]?

    /// The first loss (the objective, for simpo and orpo, which stand alone).
    public var loss: Loss {
        get { losses.first ?? .sigmoid }
        set { losses = [newValue] }
    }

    /// Whether the objective reads a reference model: DPOTrainer's losses do (sft alone too, for its
    /// logged rewards); simpo and orpo do not.
    public var usesReference: Bool { losses.allSatisfy { $0.dpo != nil } }

    /// `beta` (`pref_beta`): how far the policy may move from the reference.
    public var beta: Double = 0.1
    /// `label_smoothing` (`dpo_label_smoothing`): robust DPO's ε, in [0, 0.5).
    public var labelSmoothing: Double = 0
    /// `precompute_ref_log_probs`: the reference's log-probabilities computed once before the first
    /// step (and kept in output_dir for a resume) instead of a reference forward in every step.
    /// Always so with full fine-tuning and when starting from an adapter, where the reference is the
    /// model as it starts and no second copy of it is kept.
    public var precomputeRefLogProbs = false
    /// `pref_ftx` (LLaMA-Factory): DPO plus this weight × each pair's per-token NLL of its chosen reply.
    public var ftx: Double = 0
    /// `simpo_gamma`: SimPO's target reward margin γ.
    public var simpoGamma: Double = 0.5
    /// `cpo_alpha`: the weight of CPOTrainer's NLL term on the chosen replies (SimPO); 0 is pure SimPO.
    public var cpoAlpha: Double = 1
    /// KTO's `desirable_weight` and `undesirable_weight` (LLaMA-Factory: `kto_chosen_weight`, `kto_rejected_weight`).
    public var desirableWeight: Double = 1
    public var undesirableWeight: Double = 1

    public init() {}

    /// The preference losses TRL and LLaMA-Factory name that Tailor does not compute yet.
    public static let notBuiltLosses = ["aot", "aot_unpaired", "discopop", "kto_pair"]
}
