import Foundation
import TailorAdapters
import TailorModels

extension TrainingRun {
    /// The IA³ adapters of a peft_type IA3 run, attached to `model`: fresh (ones, or the random start
    /// of init_ia3_weights false), or the folder adapter_name_or_path names. The recipe then records
    /// the targets as resolved (peft's defaults for the architecture filled in), so tailor_config.yaml
    /// names the modules trained.
    /// - Throws: `TrainingError.invalidValue` for settings peft refuses, the adapter layer's errors
    ///   for a folder that is not an IA³ adapter of this model.
    static func attachIA3(_ recipe: inout TrainRecipe, model: CausalLM) throws -> IA3Adapters {
        let adapters: IA3Adapters
        if let path = recipe.adapterNameOrPath {
            let folder = URL(fileURLWithPath: path)
            guard IA3AdapterFolder.isIA3(folder: folder) else {
                throw TrainingError.conflictingKeys(key: "adapter_name_or_path", other: "peft_type",
                                                    problem: "\(path) is not an IA³ adapter folder (its adapter_config.json's peft_type is not IA3); give an IA³ folder, or peft_type LORA for a LoRA one")
            }
            adapters = try IA3AdapterFolder.load(folder: folder, for: model)
            // Keys given beside the folder (as tailor_config.yaml gives them back) must pick what the folder has.
            if ["target_modules", "feedforward_modules", "modules_to_save"].contains(where: recipe.givenKeys.contains) {
                let given: IA3Adapters
                do { given = try IA3Adapters.make(for: model, config: recipe.ia3Config) } catch AdapterError.badOption(let name, let problem) {
                    throw TrainingError.invalidValue(key: name, problem: problem)
                }
                let picked = { (a: IA3Adapters) in a.modules.map { "\($0.name)\($0.ia3.isFeedforward ? " (feed-forward)" : "")" } }
                if picked(given) != picked(adapters) || given.config.modulesToSave != adapters.config.modulesToSave {
                    throw TrainingError.conflictingKeys(key: "target_modules", other: "adapter_name_or_path",
                                                        problem: "(with feedforward_modules and modules_to_save) picks other modules than the IA³ adapter in \(path) has (\(picked(adapters).joined(separator: ", "))); its adapter_config.json decides them: remove the keys or make them agree")
                }
            }
            try adapters.attach(to: model)
        } else {
            do {
                adapters = try IA3Adapters.attach(to: model, config: recipe.ia3Config, seed: recipe.training.seed)
            } catch AdapterError.badOption(let name, let problem) {
                throw TrainingError.invalidValue(key: name, problem: problem)
            }
        }
        let shortNames = Array(Set(adapters.modules.map { String($0.name.split(separator: ".").last ?? "") })).sorted()
        if case .regex? = adapters.config.targetModules, let targets = adapters.config.targetModules {
            recipe.lora.targetModules = targets
        } else {
            recipe.lora.targetModules = .names(shortNames)
        }
        recipe.givenKeys.insert("target_modules")
        recipe.ia3.feedforwardModules = adapters.config.feedforwardModules
        recipe.ia3.initIA3Weights = adapters.config.initIA3Weights
        recipe.lora.modulesToSave = adapters.config.modulesToSave
        return adapters
    }
}
