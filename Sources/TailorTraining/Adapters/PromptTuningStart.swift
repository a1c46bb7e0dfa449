import Foundation
import TailorAdapters
import TailorModels
import TailorTokenizers

extension TrainingRun {
    /// The prompt tuning of a peft_type PROMPT_TUNING run, attached to `model`: fresh (RANDOM,
    /// SAMPLE_VOCAB, or TEXT from the tokens of prompt_tuning_init_text as peft tokenizes it, special
    /// tokens included), or the table of the folder adapter_name_or_path names; the recipe then
    /// records its num_virtual_tokens.
    /// - Throws: `TrainingError.invalidValue` for settings that do not fit the model, the adapter
    ///   layer's errors for a folder that is not a prompt-tuning adapter of this model.
    static func attachPromptTuning(_ recipe: inout TrainRecipe, model: CausalLM, modelFolder: URL) throws -> PromptTuning {
        let prompt: PromptTuning
        if let path = recipe.adapterNameOrPath {
            let folder = URL(fileURLWithPath: path)
            guard (try? IA3AdapterFolder.peftType(folder: folder)) == TrainRecipe.PeftType.promptTuning.rawValue else {
                throw TrainingError.conflictingKeys(key: "adapter_name_or_path", other: "peft_type",
                                                    problem: "\(path) is not a prompt-tuning folder (its adapter_config.json's peft_type is not PROMPT_TUNING); give one, or the peft_type of the folder")
            }
            prompt = try PromptTuningFolder.load(folder: folder, for: model)
            if recipe.givenKeys.contains("num_virtual_tokens"), recipe.promptTuning.numVirtualTokens != prompt.config.numVirtualTokens {
                throw TrainingError.conflictingKeys(key: "num_virtual_tokens", other: "adapter_name_or_path",
                                                    problem: "is \(recipe.promptTuning.numVirtualTokens ?? 0), but the folder \(path) holds \(prompt.config.numVirtualTokens) virtual tokens; remove the key or make them agree")
            }
        } else {
            let config = recipe.promptTuningConfig
            var ids: [Int32] = []
            if case .text(let text) = config.initialization {
                let folder = recipe.promptTuning.tokenizerNameOrPath.map { URL(fileURLWithPath: $0) } ?? modelFolder
                ids = try PretrainedTokenizer(folder: folder).tokenizer.encodeInt32(text, addSpecialTokens: true)
            }
            do {
                prompt = try PromptTuning.make(for: model, config: config, initTokenIds: ids, seed: recipe.training.seed)
            } catch AdapterError.badOption(let name, let problem) {
                throw TrainingError.invalidValue(key: name, problem: problem)
            }
        }
        try prompt.attach(to: model)
        recipe.promptTuning.numVirtualTokens = prompt.config.numVirtualTokens  // tailor_config.yaml records what the run trains
        return prompt
    }
}

extension TrainingRun {
    /// The prefix of a peft_type PREFIX_TUNING run, attached to `model`: fresh (normal, as peft's
    /// embedding starts), or the folder adapter_name_or_path names; the recipe then records its num_virtual_tokens.
    static func attachPrefixTuning(_ recipe: inout TrainRecipe, model: CausalLM) throws -> PrefixTuning {
        let prefix: PrefixTuning
        if let path = recipe.adapterNameOrPath {
            let folder = URL(fileURLWithPath: path)
            guard PrefixTuningFolder.isPrefixTuning(folder: folder) else {
                throw TrainingError.conflictingKeys(key: "adapter_name_or_path", other: "peft_type",
                                                    problem: "\(path) is not a prefix-tuning folder (its adapter_config.json's peft_type is not PREFIX_TUNING); give one, or the peft_type of the folder")
            }
            let loaded = try PrefixTuningFolder.load(folder: folder, for: model)
            // A projected folder holds the encoder's output: it trains on as a plain prefix.
            prefix = PrefixTuning(numVirtualTokens: loaded.numVirtualTokens, encoderHiddenSize: loaded.encoderHiddenSize,
                                  prefix: loaded.virtualTokens.prefix ?? [])
            if recipe.givenKeys.contains("num_virtual_tokens"), recipe.promptTuning.numVirtualTokens != prefix.numVirtualTokens {
                throw TrainingError.conflictingKeys(key: "num_virtual_tokens", other: "adapter_name_or_path",
                                                    problem: "is \(recipe.promptTuning.numVirtualTokens ?? 0), but the folder \(path) holds \(prefix.numVirtualTokens) virtual tokens; remove the key or make them agree")
            }
        } else {
            do {
                prefix = try PrefixTuning.make(for: model, numVirtualTokens: recipe.promptTuning.numVirtualTokens ?? 0, seed: recipe.training.seed)
            } catch AdapterError.badOption(let name, let problem) {
                throw TrainingError.invalidValue(key: name, problem: problem)
            }
        }
        try prefix.attach(to: model)
        recipe.promptTuning.numVirtualTokens = prefix.numVirtualTokens
        return prefix
    }
}

extension TrainingRun {
    /// The encoder of a peft_type P_TUNING run (MLP or LSTM), or of PREFIX_TUNING with
    /// prefix_projection, fresh (torch's default starts), attached to `model`.
    static func attachPromptEncoder(_ recipe: TrainRecipe, model: CausalLM) throws -> any VirtualTokenEncoder {
        let encoder: any VirtualTokenEncoder
        let count = recipe.promptTuning.numVirtualTokens ?? 0, seed = recipe.training.seed
        do {
            if recipe.peftType == .prefixTuning {
                encoder = try PrefixProjection.make(for: model, numVirtualTokens: count, encoderHiddenSize: recipe.promptTuning.encoderHiddenSize,
                                                    seed: seed)
            } else {
                encoder = try PTuning.make(for: model, numVirtualTokens: count,
                                           encoderHiddenSize: recipe.promptTuning.encoderHiddenSize ?? model.config.hiddenSize,
                                           encoder: recipe.pTuningEncoder, seed: seed)
            }
        } catch AdapterError.badOption(let name, let problem) {
            throw TrainingError.invalidValue(key: name, problem: problem)
        }
        try encoder.attach(to: model)
        return encoder
    }
}
