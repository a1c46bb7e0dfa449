import TailorFormats
import TailorModels
import TailorTensor

/// A full tensor trained beside LoRA's A and B, as peft trains it: a bias (`bias` "all" or
/// "lora_only") or the copy of a `modules_to_save` module's parameter. While the adapters are
/// attached the model computes with it; the base tensor it stands in for stays as loaded.
public struct AdapterTensor: @unchecked Sendable {
    /// Hugging Face name of the parameter it stands in for ("model.embed_tokens.weight",
    /// "lm_head.weight", "model.layers.0.self_attn.q_proj.bias").
    public let name: String
    /// Its keys in adapter_model.safetensors, as peft writes them: "base_model.model.<name>", with
    /// ".base_layer.bias" for the bias of an adapted Linear; two keys (embed_tokens and lm_head)
    /// when tied embeddings share one copy (`ensure_weight_tying`).
    public let peftKeys: [String]
    /// The trained values, f32, shaped like the parameter.
    public let value: Tensor

    /// What `bias` and `modules_to_save` make trainable on `model`: names, peft keys and the
    /// model tensor each starts from.
    /// - Parameter adapted: module names that get LoRA side paths.
    /// - Throws: `AdapterError.badOption` when a `modules_to_save` entry matches no module (listing
    ///   the valid ones) or matches a module that LoRA adapts.
    static func plan(for model: CausalLM, config: LoRAConfig,
                     adapted: [String]) throws -> [(name: String, peftKeys: [String], source: Tensor)] {
        let prefix = PeftAdapterLayout.keyPrefix
        let parameters = model.namedParameters
        // From the config, not the output layer's current name: another adapter's copy may have untied it.
        let tied = model.config.tieWordEmbeddings
        var plans: [(name: String, peftKeys: [String], source: Tensor)] = []
        if config.bias != .none {
            for (name, tensor) in parameters where name.hasSuffix(".bias") {
                let module = String(name.dropLast(".bias".count))
                let isAdapted = adapted.contains(module)
                if config.bias == .loraOnly && !isAdapted { continue }
                plans.append((name, [prefix + module + (isAdapted ? PeftAdapterLayout.baseLayer : "") + ".bias"], tensor))
            }
        }
        guard !config.modulesToSave.isEmpty else { return plans }
        // Module names in model order; the tied output layer is a module of its own, as in transformers.
        var modules: [String] = []
        for (name, _) in parameters {
            let module = String(name.split(separator: ".").dropLast().joined(separator: "."))
            if !modules.contains(module) { modules.append(module) }
        }
        if tied && !modules.contains("lm_head") { modules.append("lm_head") }
        // peft matches a module when its name ends with the entry.
        for entry in config.modulesToSave {
            let matched = modules.filter { $0.hasSuffix(entry) }
            guard !matched.isEmpty else {
                let valid = modules.map { $0.split(separator: ".").last.map(String.init) ?? $0 }
                var unique: [String] = []
                for name in valid where !unique.contains(name) { unique.append(name) }
                throw AdapterError.badOption(name: "modules_to_save",
                                              problem: "names '\(entry)', which matches no module of this model; its modules are: \(unique.joined(separator: ", "))")
            }
            if let clash = matched.first(where: adapted.contains) {
                throw AdapterError.badOption(name: "modules_to_save",
                                              problem: "names '\(entry)', which matches \(clash), a module target_modules adapts with LoRA; a module is either adapted or saved, not both")
            }
        }
        let shareTied = tied && config.ensureWeightTying
        for module in modules where config.modulesToSave.contains(where: { module.hasSuffix($0) }) {
            let isEmbedding = module == "model.embed_tokens", isHead = module == "lm_head"
            if shareTied && (isEmbedding || isHead) {
                // One copy serves both; peft saves it under both keys.
                if !plans.contains(where: { $0.name == CausalLM.embedName }) {
                    plans.append((CausalLM.embedName, [prefix + CausalLM.embedName, prefix + CausalLM.lmHeadName], model.embedTokens))
                }
            } else if isHead && tied {
                // Its own copy of the tied table: the output layer no longer follows the embeddings.
                plans.append((CausalLM.lmHeadName, [prefix + CausalLM.lmHeadName], model.embedTokens))
            } else {
                for (name, tensor) in parameters where name == module + ".weight" || name == module + ".bias" {

                    if plans.contains(where: { $0.name == name }) { continue }
                    plans.append((name, [prefix + name], tensor))
                }
            }
        }
        return plans
    }
}

/// The model's own tensors while adapter tensors stand in for them.
struct Displaced {
    var embedTokens: Tensor
    var lmHead: Linear
    var others: [(name: String, tensor: Tensor)]
}

extension LoRAAdapters {
    /// Puts `tensors` in place of the model's own, remembering those for `restore`.
    ///
    /// With tied embeddings and a copy of only one of embed_tokens / lm_head, the other keeps
    /// the base table: the output layer becomes its own parameter "lm_head.weight", as peft's
    /// copy unties them (unless `ensure_weight_tying` shares one copy).
    /// PiSSA / OLoRA `residuals` stand in for the adapted weights the same way.
    func install(on model: CausalLM) throws {
        guard displaced == nil, !(tensors.isEmpty && residuals.isEmpty) else { return }
        var saved = Displaced(embedTokens: model.embedTokens, lmHead: model.lmHead, others: [])
        let current = Dictionary(model.namedParameters, uniquingKeysWith: { first, _ in first })
        for tensor in tensors {
            switch tensor.name {
            case CausalLM.lmHeadName:
                var head = model.lmHead
                head.name = CausalLM.lmHeadName
                head.weight = tensor.value
                model.lmHead = head
            case CausalLM.embedName:
                if model.lmHead.name == CausalLM.embedName && tensor.peftKeys.count == 1 {
                    model.lmHead.name = CausalLM.lmHeadName  // keeps the base table
                }
                try model.replaceParameter(CausalLM.embedName, with: tensor.value)
            default:
                if let original = current[tensor.name] { saved.others.append((tensor.name, original)) }
                try model.replaceParameter(tensor.name, with: tensor.value)
            }
        }
        for residual in residuals {
            if let original = current[residual.name] { saved.others.append((residual.name, original)) }
            try model.replaceParameter(residual.name, with: residual.value)
        }
        displaced = saved
    }

    /// Gives the model back the tensors `install` replaced.
    func restore(on model: CausalLM) throws {
        guard let saved = displaced else { return }
        for (name, tensor) in saved.others.reversed() { try model.replaceParameter(name, with: tensor) }
        model.embedTokens = saved.embedTokens
        model.lmHead = saved.lmHead
        displaced = nil
    }
}
