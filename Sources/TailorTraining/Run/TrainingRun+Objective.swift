import Foundation
import TailorAdapters

extension TrainingRun {
    /// Whether stage dpo's reference log-probabilities are computed before the first step: when
    /// asked (precompute_ref_log_probs), and always with full fine-tuning or an adapter to start
    /// from, whose reference is the starting model (TRL would keep a second copy of it).
    public var precomputesReference: Bool {
        (recipe.stage == .kto || recipe.stage == .dpo && recipe.preference.usesReference)
            && (recipe.preference.precomputeRefLogProbs || recipe.finetuningType == .full || recipe.adapterNameOrPath != nil)
    }

    /// What the run minimises: SFT, or DPO with its reference — the base under the LoRA adapter
    /// with the adapter disabled, or log-probabilities precomputed now (reused from output_dir
    /// when resuming a run that saved them for the same data).
    func objective(outputDir: URL, resuming: Bool) throws -> TrainingObjective {
        let settings = recipe.preference
        if recipe.stage == .kto {
            func kto(_ reference: @escaping DPOObjective.Reference) -> KTOObjective {
                KTOObjective(beta: settings.beta, desirableWeight: settings.desirableWeight,
                             undesirableWeight: settings.undesirableWeight, reference: reference)
            }
            return kto(try reference(outputDir: outputDir, resuming: resuming, layout: kto { _, _ in
                throw TrainingError.internalError("the layout objective has no reference")
            }))
        }
        guard recipe.stage == .dpo else { return SFTObjective() }
        if settings.loss == .orpo { return ORPOObjective(beta: settings.beta) }
        if settings.loss == .simpo {
            return SimPOObjective(beta: settings.beta, gamma: settings.simpoGamma, labelSmoothing: settings.labelSmoothing,
                                  cpoAlpha: settings.cpoAlpha)
        }
        let terms = try settings.losses.enumerated().map { index, loss -> DPOObjective.Term in
            guard let type = loss.dpo else { throw TrainingError.internalError("\(loss.rawValue) is not a DPO loss") }
            return DPOObjective.Term(type, weight: settings.lossWeights?[index] ?? 1)
        }
        func dpo(_ reference: @escaping DPOObjective.Reference) -> DPOObjective {
            DPOObjective(beta: settings.beta, losses: terms, labelSmoothing: settings.labelSmoothing, ftx: settings.ftx, reference: reference)
        }
        return dpo(try reference(outputDir: outputDir, resuming: resuming, layout: dpo { _, _ in
            throw TrainingError.internalError("the layout objective has no reference")
        }))
    }

    /// The reference of a preference objective: the base under the disabled LoRA adapter, or
    /// log-probabilities precomputed with `layout`'s batches (reused from output_dir on resume).
    func reference(outputDir: URL, resuming: Bool, layout: TrainingObjective) throws -> DPOObjective.Reference {
        guard precomputesReference else {
            guard case let .lora(adapters) = trainable else {
                throw TrainingError.internalError("a live reference needs a LoRA adapter to disable")
            }
            return DPOObjective.adaptersDisabled(adapters)
        }
        let rows = data.train + data.eval
        if resuming, let saved = try ReferenceLogProbs.load(rows: rows, from: outputDir) { return saved.reference }
        let batchSize = recipe.training.perDeviceTrainBatchSize
        let values: ReferenceLogProbs
        switch trainable {
        case let .lora(adapters) where recipe.adapterNameOrPath == nil:
            values = try adapters.withDisabled(on: model) {
                try ReferenceLogProbs.compute(rows: rows, objective: layout, model: model, batchSize: batchSize)
            }
        case let .lora(adapters):
            adapters.setDropoutKey(nil)  // the starting adapter, without dropout, is the reference
            values = try ReferenceLogProbs.compute(rows: rows, objective: layout, model: model, batchSize: batchSize)
        case let .adalora(adapters):
            values = try adapters.withDisabled(on: model) {
                try ReferenceLogProbs.compute(rows: rows, objective: layout, model: model, batchSize: batchSize)
            }
        case let .promptTuning(adapters as any AttachableAdapters), let .prefixTuning(adapters as any AttachableAdapters),
             let .encoder(adapters as any AttachableAdapters), let .ia3(adapters as any AttachableAdapters):
            values = try adapters.withDisabled(on: model) {
                try ReferenceLogProbs.compute(rows: rows, objective: layout, model: model, batchSize: batchSize)
            }
        case .full:
            values = try ReferenceLogProbs.compute(rows: rows, objective: layout, model: model, batchSize: batchSize)
        }
        if communicator.isMain { try values.save(rows: rows, to: outputDir) }  // every rank computed the same values
        return values.reference
    }
}
