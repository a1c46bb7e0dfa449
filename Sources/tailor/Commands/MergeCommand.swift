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
        (init_r + 1e-5), as peft's merge does. A 4-bit base (a folder transformers + bitsandbytes saved, QLoRA) is \
        dequantized exactly as bitsandbytes does, merged in f32 and written in --dtype, with config.json's \
        quantization_config removed; peft's merge_and_unload would quantize the sum to 4 bits again.
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

    @Option(help: "The dtype of weights that are 4-bit in the base (f32|bf16|f16): f32 holds the dequantized values exactly.")
    var dtype: MergeDType = .f32

    enum MergeDType: String, ExpressibleByArgument, CaseIterable {
        case f32, bf16, f16
        var dtype: DType { self == .f32 ? .f32 : self == .bf16 ? .bf16 : .f16 }
    }

    func run() async throws {
        let base = try await ModelArgument.folder(for: model, hub: hub)
        let loaded = try CausalLM.load(folder: base, backend: try CPUBackend())
        let maxShardBytes = Int(exactly: (maxShardSize * 1e9).rounded(.down)) ?? Int.max
        if IA3AdapterFolder.isIA3(folder: URL(fileURLWithPath: adapter)) {
            guard !loaded.namedParameters.contains(where: { $0.tensor.dtype.isBlockQuantized }) else {
                throw ValidationError("--model \(model) holds 4-bit weights: merging an IA³ adapter into them is not built yet; merge into the unquantized base folder")
            }
            let adapters = try IA3AdapterFolder.load(folder: URL(fileURLWithPath: adapter), for: loaded)
            try adapters.writeMerged(loaded, baseFolder: base, to: URL(fileURLWithPath: output), maxShardBytes: maxShardBytes)
            print("merged the IA³ vectors of \(adapters.modules.count) layers of \(adapter) into \(model); wrote \(output)")
            return
        }
        if AdaLoRAAdapterFolder.isAdaLoRA(folder: URL(fileURLWithPath: adapter)) {
            let adapters = try AdaLoRAAdapterFolder.load(folder: URL(fileURLWithPath: adapter), for: loaded)
            try adapters.asLoRA(backend: loaded.backend).writeMerged(loaded, baseFolder: base, to: URL(fileURLWithPath: output),
                                                                     maxShardBytes: maxShardBytes, dequantizedDType: dtype.dtype)
            print("merged the AdaLoRA updates of \(adapters.modules.count) layers of \(adapter) into \(model); wrote \(output)")
            return
        }
        let adapters = try PeftAdapterFolder.load(folder: URL(fileURLWithPath: adapter), for: loaded)
        try adapters.writeMerged(loaded, baseFolder: base, to: URL(fileURLWithPath: output),
                                 maxShardBytes: maxShardBytes, dequantizedDType: dtype.dtype)
        let fourBit = loaded.namedParameters.filter { $0.tensor.dtype.isBlockQuantized }.count
        print("merged \(adapters.modules.count) adapted layers of \(adapter) into \(model)"
              + (fourBit > 0 ? " (its \(fourBit) 4-bit weights dequantized, written in \(dtype.rawValue))" : "") + "; wrote \(output)")
    }
}
