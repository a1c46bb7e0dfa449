import ArgumentParser
import Foundation
import TailorModels

struct ImportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Convert a model file from another tool into a Hugging Face folder.",
        subcommands: [ImportGGUFCommand.self]
    )
}

struct ImportGGUFCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gguf",
        abstract: "Convert a llama.cpp GGUF file (Ollama, LM Studio, llama.cpp downloads) into a Hugging Face folder.",
        discussion: """
        Reads the architectures llama (also Mistral, SmolLM and DeepSeek-LLM files),
        qwen2 and qwen3. Every weight is dequantized (F32, F16, BF16, Q8_0, Q4_0, Q4_1,
        Q5_0, Q5_1, Q2_K ... Q6_K) and renamed to its Hugging Face name; the q/k rows
        llama.cpp reorders in llama models are put back in Hugging Face order.

        Writes into --output:
          model.safetensors       the weights
          config.json             Llama/Qwen2/Qwen3ForCausalLM hyperparameters
          tokenizer.json          from tokenizer.ggml.* (byte-level BPE or
                                  SentencePiece), pre-tokenizer as llama.cpp
                                  reads tokenizer.ggml.pre
          tokenizer_config.json   special tokens, add_bos/eos, chat template
          generation_config.json  bos/eos/pad token ids

        The folder loads in transformers (AutoModelForCausalLM, AutoTokenizer) and in
        every tailor command; commands that take --model also accept the .gguf itself.
        """
    )

    @Argument(help: "The .gguf file to convert.")
    var file: String

    @Option(name: .shortAndLong, help: "Folder to write (required; created when absent; the five files in it are replaced).")
    var output: String

    @Option(help: "dtype of the written weights: f32 (the dequantized values exactly) or bf16 (half the size).")
    var dtype: String = "f32"

    func validate() throws {
        guard ["f32", "bf16"].contains(dtype) else { throw ValidationError("--dtype must be f32 or bf16, not '\(dtype)'") }
    }

    func run() async throws {
        print(try GGUFImport.run(file: URL(fileURLWithPath: file), output: URL(fileURLWithPath: output), dtype: dtype == "bf16" ? .bf16 : .f32))
    }
}

extension GGUFImport {
    /// The model folder for a `--model` argument (see `modelFolder(for:cache:imported:)`); an import's summary goes to standard error.
    static func modelFolder(for path: String) throws -> URL {
        try modelFolder(for: path, imported: { printError($0.description) })
    }
}
