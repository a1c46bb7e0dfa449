import ArgumentParser
import Foundation
import TailorAdapters
import TailorFormats
import TailorModels
import TailorTensor

struct MergeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "merge",
        abstract: "Fold a LoRA, IA³ or AdaLoRA adapter into its base model and write a Hugging Face folder (peft's merge_and_unload).",
        discussion: """
        Reads the base folder (config.json + safetensors, any dtype) and a peft/Tailor adapter folder \
        (adapter_config.json + adapter_model.safetensors), and writes the merged weights tensor by tensor \
        from the memory-mapped base: W + (lora_alpha / r) · B·A computed in f32 for one adapted layer at a \
        time and stored in the base's dtype, every other tensor copied through as it is. Writes \
        model.safetensors (sharded above --max-shard-size), config.json, generation_config.json and the \
        tokenizer files, each atomically. transformers' AutoModelForCausalLM loads the result. An IA³ adapter \
        (peft_type IA3) scales each target's weight rows (and bias) by its vector, or a feed-forward target's \
        columns, as peft's merge does. An AdaLoRA adapter (peft_type ADALORA) adds B·(A ⊙ E) · lora_alpha / \
        (init_r + 1e-5), as peft's merge does.
        """
    )

    @Option(help: "The base model folder, or a .gguf file (imported once into ~/.cache/tailor, dequantized to f32), or a hub id ORG/NAME (from the Hugging Face cache, downloaded into it when missing).")
    var model: String

    @OptionGroup var hub: HubOptions

    @Option(help: "The adapter folder (LoRA, IA³ or AdaLoRA).")
    var adapter: String

    @Option(name: [.short, .long], help: "Where to write the merged model folder.")
    var output: String

    @Option(help: "Largest shard in GB before the weights are split into model-0000i-of-0000N files (transformers 5's save_pretrained default).")
    var maxShardSize: Double = Double(ModelFolderWriter.defaultMaxShardBytes) / 1e9

    func run() async throws {
        let base = try await ModelArgument.folder(for: model, hub: hub)
        let loaded = try CausalLM.load(folder: base, backend: try CPUBackend())
        let maxShardBytes = Int(exactly: (maxShardSize * 1e9).rounded(.down)) ?? Int.max
        if IA3AdapterFolder.isIA3(folder: URL(fileURLWithPath: adapter)) {
            let adapters = try IA3AdapterFolder.load(folder: URL(fileURLWithPath: adapter), for: loaded)
            try adapters.writeMerged(loaded, baseFolder: base, to: URL(fileURLWithPath: output), maxShardBytes: maxShardBytes)
            print("merged the IA³ vectors of \(adapters.modules.count) layers of \(adapter) into \(model); wrote \(output)")
            return
        }
        if AdaLoRAAdapterFolder.isAdaLoRA(folder: URL(fileURLWithPath: adapter)) {
            let adapters = try AdaLoRAAdapterFolder.load(folder: URL(fileURLWithPath: adapter), for: loaded)
            try adapters.asLoRA(backend: loaded.backend).writeMerged(loaded, baseFolder: base, to: URL(fileURLWithPath: output),
                                                                     maxShardBytes: maxShardBytes)
            print("merged the AdaLoRA updates of \(adapters.modules.count) layers of \(adapter) into \(model); wrote \(output)")
            return
        }
        let adapters = try PeftAdapterFolder.load(folder: URL(fileURLWithPath: adapter), for: loaded)
        try adapters.writeMerged(loaded, baseFolder: base, to: URL(fileURLWithPath: output),
                                 maxShardBytes: maxShardBytes)
        print("merged \(adapters.modules.count) adapted layers of \(adapter) into \(model); wrote \(output)")
    }
}
