import Foundation
import TailorAdapters

/// pissa_convert, as LLaMA-Factory's PissaConvertCallback saves it: output_dir/pissa_init (the
/// adapter as initialised, its init_lora_weights written true so that loading it does not
/// decompose the base again) before training, and output_dir/pissa_converted (the trained
/// adapter as a plain LoRA of rank 2r on the original base, `LoRAAdapters.convertedToLoRA`)
/// after it. output_dir itself holds the PiSSA / OLoRA adapter as peft saves it
/// (init_lora_weights "pissa" / "olora": peft and Tailor recompute the adjusted base when they load it).
extension TrainingRun {
    /// The folder names LLaMA-Factory uses.
    public static let pissaInitialFolder = "pissa_init", pissaConvertedFolder = "pissa_converted"

    func writePiSSAInitial(outputDir: URL) throws {
        guard let initialFactors, case let .lora(adapters) = trainable else { return }
        var config = adapters.config
        config.initLoraWeights = .kaiming
        let initial = LoRAAdapters(config: config, modules: try adapters.modules.map { module in
            let lora = module.lora
            let a = try model.backend.upload(initialFactors[lora.aName] ?? [], shape: lora.a.shape, dtype: .f32)
            let b = try model.backend.upload(initialFactors[lora.bName] ?? [], shape: lora.b.shape, dtype: .f32)
            return (module.name, LoRA(module: module.name, a: a, b: b, scaling: lora.scaling))
        })
        try PeftAdapterWriter.write(initial, backend: model.backend, to: outputDir.appendingPathComponent(Self.pissaInitialFolder),
                                    baseModel: recipe.modelNameOrPath, revision: revision)
    }

    func writePiSSAConverted(outputDir: URL) throws {
        guard let initialFactors, case let .lora(adapters) = trainable else { return }
        let converted = try adapters.convertedToLoRA(initial: { initialFactors[$0] }, backend: model.backend)
        try PeftAdapterWriter.write(converted, backend: model.backend, to: outputDir.appendingPathComponent(Self.pissaConvertedFolder),
                                    baseModel: recipe.modelNameOrPath, revision: revision)
    }

    private var revision: String? { recipe.givenKeys.contains("model_revision") ? recipe.modelRevision : nil }
}
