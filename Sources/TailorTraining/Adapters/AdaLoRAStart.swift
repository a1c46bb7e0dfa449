import Foundation
import TailorAdapters
import TailorModels

extension TrainingRun {
    /// The AdaLoRA adapters of a peft_type ADALORA run, fresh (peft's init: A and B normal with
    /// std 0.02, E zeros), attached to `model`. The recipe then records the targets as resolved
    /// (peft's default for the architecture filled in) and the lora_alpha used, so
    /// tailor_config.yaml names what was trained.
    /// - Throws: `TrainingError.invalidValue` for settings peft refuses or targets that pick nothing.
    static func attachAdaLoRA(_ recipe: inout TrainRecipe, model: CausalLM) throws -> AdaLoRAAdapters {
        let adapters: AdaLoRAAdapters
        do {
            adapters = try AdaLoRAAdapters.attach(to: model, config: recipe.adaLoRAConfig, seed: recipe.training.seed)
        } catch AdapterError.badOption(let name, let problem) {
            throw TrainingError.invalidValue(key: name, problem: problem)
        }
        if case .regex? = adapters.config.targetModules, let targets = adapters.config.targetModules {
            recipe.lora.targetModules = targets
        } else {
            recipe.lora.targetModules = .names(Array(Set(adapters.modules.map { String($0.name.split(separator: ".").last ?? "") })).sorted())
        }
        recipe.lora.loraAlpha = adapters.config.loraAlpha
        recipe.lora.loraDropout = adapters.config.loraDropout
        recipe.givenKeys.formUnion(["target_modules", "lora_alpha", "lora_dropout"])
        return adapters
    }
}
