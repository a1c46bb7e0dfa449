import Foundation
import TailorFormats
import TailorModels
import TailorTensor

extension AdapterTensor {
    /// The `modules_to_save` copies an IA³ or AdaLoRA folder's weights file holds for `model`,
    /// checking that nothing else is in it.
    /// - Parameters:
    ///   - selection: the adapter's module selection (its modules_to_save).
    ///   - others: the file's keys that are not the method's own tensors.
    ///   - kind: what the method's own tensors are, for the error about a stray key.
    /// - Throws: `AdapterError.adapterConfig` for a modules_to_save entry that picks nothing,
    ///   `.adapterWeight` for a stray, missing or mis-shaped tensor.
    static func loadSaved(for model: CausalLM, selection: LoRAConfig, adapted: [String], from file: SafetensorsFile, url: URL,
                          folder: URL, others: [String], kind: String) throws -> [AdapterTensor] {
        let plans: [(name: String, peftKeys: [String], source: Tensor)]
        do {
            plans = try plan(for: model, config: selection, adapted: adapted)
        } catch AdapterError.badOption(let field, let problem) {
            throw AdapterError.adapterConfig(file: folder.appendingPathComponent(PeftAdapterLayout.configFile).path, field: field, problem: problem)
        }
        let expected = Set(plans.flatMap(\.peftKeys))
        if let stray = others.first(where: { !expected.contains($0) }) {
            throw AdapterError.adapterWeight(name: stray, file: url.path, problem: "is neither \(kind) nor a tensor that adapter_config.json's modules_to_save asks for; Tailor cannot apply it")
        }
        return try plans.map { plan in
            let key = plan.peftKeys[0]
            guard let info = file.info(key), info.shape == plan.source.shape else {
                throw AdapterError.adapterWeight(name: key, file: url.path, problem: file.info(key) == nil
                    ? "is missing, but adapter_config.json's modules_to_save asks for it"
                    : "has shape \(file.info(key)?.shape ?? []) but this model's \(plan.name) is \(plan.source.shape); was the adapter made for another base model?")
            }
            return AdapterTensor(name: plan.name, peftKeys: plan.peftKeys,
                                 value: try model.backend.upload(try file.floats(key), shape: info.shape, dtype: .f32))
        }
    }
}
