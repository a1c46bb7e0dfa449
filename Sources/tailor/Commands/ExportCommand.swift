import ArgumentParser
import Foundation
import TailorExport
import TailorModels

struct ExportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write a model in another tool's format.",
        subcommands: [ExportGGUFCommand.self]
    )
}

struct ExportGGUFCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gguf",
        abstract: "Write a model (with a LoRA adapter merged) as a GGUF file for llama.cpp, Ollama and LM Studio.",
        discussion: """
        Writes the metadata llama.cpp's convert_hf_to_gguf.py writes for llama (also \
        Mistral and SmolLM), qwen2 and qwen3: hyperparameters, RoPE, q/k rows in \
        llama.cpp's order, the tokenizer (tokens, types, merges, the pre-tokenizer \
        the converter's hash picks, special token ids, add_bos/add_eos), the chat \
        template, and the end-of-turn token the template writes (Llama 3's \
        <|eot_id|>, ChatML's <|im_end|>) so generation stops. A SentencePiece \
        tokenizer (Llama 2, Mistral) is read from tokenizer.model (scores and \
        piece types), else from a byte_fallback tokenizer.json, as the converter \
        reads them. A model given as a .gguf keeps that file's tokenizer as it is.

        --outtype: f32, f16, bf16, q8_0 (1-D tensors and norms stay F32, rows that \
        are not whole blocks fall back to F16, as the converter does), and q4_0, \
        q4_1, q5_0, q5_1 for every 2-D weight (llama-quantize would put \
        output.weight in Q6_K); their bytes equal gguf-py's. The k-quant presets \
        q2_k, q3_k_s, q3_k_m, q3_k_l, q4_k_s, q4_k_m, q5_k_s, q5_k_m and q6_k \
        choose each tensor's type as llama-quantize does (Q6_K for output.weight, \
        more bits for some attn_v, attn_output and ffn_down layers, \
        Q4_0/Q5_0/Q5_1/Q8_0 for rows that are not multiples of 256), without an \
        importance matrix; their bytes equal llama.cpp's for the same values.

        --lora-only writes the --adapter alone as a llama.cpp LoRA adapter GGUF \
        (--outtype f32, f16, bf16 or q8_0), to apply with llama.cpp's --lora FILE \
        beside the base model's GGUF: lora_a and lora_b per adapted layer, \
        adapter.lora.alpha such that llama.cpp's alpha / r is peft's scale (rsLoRA \
        included), per-layer scales of rank_pattern / alpha_pattern folded into \
        lora_b. DoRA, trained biases, modules_to_save and a LoRA on a tied lm_head \
        are refused (export the merged model instead).

        Beside the file, an Ollama Modelfile (FILE.Modelfile: FROM, TEMPLATE in \
        Ollama's Go-template form, PARAMETER stop, SYSTEM for a template's default \
        system prompt) is written when the chat template renders test \
        conversations exactly as the ChatML (Qwen, SmolLM), Llama 3 or Mistral \
        [INST] form does; otherwise the summary says why not (--no-modelfile: \
        never). Not checked against Ollama itself.

        Tensors are merged, converted and written one at a time; the file appears \
        under --output only when complete.
        """
    )

    @Option(help: "The model folder (config.json, safetensors, tokenizer.json or tokenizer.model), or a .gguf file, or a hub id ORG/NAME (from the Hugging Face cache, downloaded into it when missing).")
    var model: String

    @OptionGroup var hub: HubOptions

    @Option(help: "A LoRA adapter folder to merge into the weights while writing (or, with --lora-only, to write alone).")
    var adapter: String?

    @Flag(help: "Write only the --adapter, as a llama.cpp LoRA adapter GGUF (--outtype f32, f16, bf16, q8_0).")
    var loraOnly = false

    @Option(help: "Tensor type: f32, f16, bf16, q8_0, q4_0, q4_1, q5_0, q5_1, or a k-quant preset: q2_k, q3_k_s, q3_k_m, q3_k_l, q4_k_s, q4_k_m, q5_k_s, q5_k_m, q6_k.")
    var outtype: String = "f16"

    @Option(name: [.short, .long], help: "The .gguf file to write (its folder must exist).")
    var output: String

    @Option(help: "tokenizer.ggml.pre to write, for a tokenizer llama.cpp's converter does not recognise (gpt-2, llama-bpe, qwen2, smollm ...).")
    var preTokenizer: String?

    @Option(help: "general.name (default: the model's folder or file name).")
    var name: String?

    @Flag(inversion: .prefixedNo, help: "Write an Ollama Modelfile beside the GGUF (FILE.Modelfile), for ChatML, Llama 3 and Mistral [INST] chat templates.")
    var modelfile = true

    func validate() throws {
        guard let type = GGUFOutType(rawValue: outtype.lowercased()) else {
            throw ValidationError("--outtype must be one of \(GGUFOutType.allCases.map(\.rawValue).joined(separator: ", ")), not '\(outtype)'")
        }
        if loraOnly {
            guard adapter != nil else { throw ValidationError("--lora-only writes an adapter: give --adapter FOLDER") }
            guard GGUFExport.adapterOutTypes.contains(type) else {
                throw ValidationError("--lora-only writes --outtype \(GGUFExport.adapterOutTypes.map(\.rawValue).joined(separator: ", ")), not \(type.rawValue) "
                    + "(llama.cpp applies adapters in these types; quantize the base model instead)")
            }
        }
    }

    func run() async throws {
        let folder = try await ModelArgument.folder(for: model, hub: hub)
        var source: URL?
        if case let .gguf(url) = ModelSource(path: model) { source = url }
        if loraOnly, let adapter {
            let summary = try GGUFExport.runAdapter(model: folder, adapter: URL(fileURLWithPath: adapter), output: URL(fileURLWithPath: output),
                                                    outType: GGUFOutType(rawValue: outtype.lowercased()) ?? .f16, name: name) { event in
                if case let .started(tensors, bytes) = event {
                    printError("exporting \(tensors) adapter tensors (\(String(format: "%.2f", Double(bytes) / 1e6)) MB) to \(output)")
                }
            }
            print(summary)
            return
        }
        let options = GGUFExport.Options(outType: GGUFOutType(rawValue: outtype.lowercased()) ?? .f16, preTokenizer: preTokenizer, name: name,
                                         modelfile: modelfile)
        var total = 0
        let summary = try GGUFExport.run(model: folder, source: source, adapter: adapter.map { URL(fileURLWithPath: $0) },
                                         output: URL(fileURLWithPath: output), options: options) { event in
            switch event {
            case let .started(tensors, bytes):
                total = bytes
                printError("exporting \(tensors) tensors (\(String(format: "%.1f", Double(bytes) / 1e6)) MB) to \(output)")
            case let .wroteTensor(index, count, name, type, bytes):
                let percent = total > 0 ? 100 * bytes / total : 100
                printError("[\(index)/\(count)] \(percent)% \(name) \(type.name)")
            }
        }
        print(summary)
    }
}
