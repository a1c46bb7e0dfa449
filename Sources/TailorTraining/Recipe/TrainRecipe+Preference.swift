extension TrainRecipe {
    /// LLaMA-Factory's `stage`: what the run minimises.
    public enum Stage: String, Sendable, CaseIterable {
        /// Supervised fine-tuning on the data's labels (the default).
        case sft
        /// Pre-training on plain text: the same loss; the data's format decides the labels.
        case pt
        /// Direct Preference Optimization over prompt / chosen / rejected pairs (TRL's DPOTrainer).
        case dpo
    }
}

/// The preference stage's settings, by TRL's DPOConfig names (LLaMA-Factory's in the aliases):
/// `RecipeKeys` reads them, `TrainingRun` makes the objective of them.
public struct PreferenceSettings: Sendable, Equatable {
    /// The preference losses Tailor computes, by TRL's and LLaMA-Factory's names.
    public enum Loss: String, Sendable, CaseIterable {
        /// DPO's losses (TRL's DPOTrainer), against a reference.
        case sigmoid, hinge, ipo, robust
        /// SimPO (TRL's CPOTrainer with loss_type simpo): reference-free, on mean log-probabilities.
        case simpo
        /// ORPO (TRL's ORPOTrainer): reference-free, NLL plus the odds-ratio term, with beta as λ.
        case orpo

        /// The DPO loss this is, or nil for a reference-free one.
        public var dpo: DPOObjective.LossType? { DPOObjective.LossType(rawValue: rawValue) }
    }

    /// `loss_type` (LLaMA-Factory: `pref_loss`).
    public var loss: Loss = .sigmoid
    /// `beta` (`pref_beta`): how far the policy may move from the reference.
    public var beta: Double = 0.1
    /// `label_smoothing` (`dpo_label_smoothing`): robust DPO's ε, in [0, 0.5).
    public var labelSmoothing: Double = 0
    /// `precompute_ref_log_probs`: the reference's log-probabilities computed once before the first
    /// step (and kept in output_dir for a resume) instead of a reference forward in every step.
    /// Always so with full fine-tuning and when starting from an adapter, where the reference is the
    /// model as it starts and no second copy of it is kept.
    public var precomputeRefLogProbs = false
    /// `simpo_gamma`: SimPO's target reward margin γ.
    public var simpoGamma: Double = 0.5
    /// `cpo_alpha`: the weight of CPOTrainer's NLL term on the chosen replies (SimPO); 0 is pure SimPO.
    public var cpoAlpha: Double = 1

    public init() {}

    /// The preference losses TRL and LLaMA-Factory name that Tailor does not compute yet.
    public static let notBuiltLosses = ["exo_pair", "nca_pair", "bco_pair", "sppo_hard", "aot", "aot_unpaired", "apo_zero",
                                        "apo_down", "discopop", "sft", "sigmoid_norm", "kto_pair"]
}
