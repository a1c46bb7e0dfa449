import Foundation
import TailorAdapters
import TailorFormats
import TailorModels
import TailorTensor

extension GGUFExport {
    /// The tensor types of an adapter GGUF (`--lora-only`), as llama.cpp's convert_lora_to_gguf.py writes them.
    public static let adapterOutTypes: [GGUFOutType] = [.f32, .f16, .bf16, .q8_0]

    /// What an adapter export wrote.
    public struct AdapterSummary: Sendable, CustomStringConvertible {
        public let output: URL
        public let architecture: String
        public let outType: GGUFOutType
        /// Adapted layers (each one lora_a and one lora_b tensor).
        public let modules: Int
        /// `adapter.lora.alpha` as written (llama.cpp scales each layer by alpha / r).
        public let alpha: Double
        /// Layers whose scale differs from alpha / r (rank_pattern / alpha_pattern): folded into their lora_b.
        public let rescaled: Int
        public let typeCounts: [GGMLType: Int]
        public let fileBytes: Int
        public let seconds: Double

        public var description: String {
            let types = typeCounts.sorted { $0.key.rawValue < $1.key.rawValue }.map { "\($0.value) \($0.key.name)" }.joined(separator: ", ")
            return """
            wrote \(output.path) (LoRA adapter for \(architecture), \(outType.rawValue), \(modules) layers: \(types); \
            \(String(format: "%.2f", Double(fileBytes) / 1e6)) MB)
              adapter.lora.alpha \(alpha)\(rescaled > 0 ? "; \(rescaled) layers' own scale folded into lora_b" : ""); \
            apply with llama.cpp's --lora FILE beside the base model's GGUF
              \(String(format: "%.1f", seconds)) s
            """
        }
    }

    /// Writes the LoRA adapter folder `adapter` of the model folder `model` as a llama.cpp LoRA adapter GGUF
    /// (`general.type` adapter, `adapter.type` lora, `adapter.lora.alpha`, `<base tensor>.lora_a` [r, in] and
    /// `.lora_b` [out, r], lora_b's rows in llama.cpp's q/k order for llama), to apply to the base model's GGUF.
    ///
    /// llama.cpp scales every layer by alpha / r, with r read from the layer's lora_a. The alpha written is the
    /// first layer's scale × r: lora_alpha for plain LoRA, lora_alpha·√r for rsLoRA (whose scale is alpha / √r;
    /// llama.cpp's own converter writes lora_alpha and so mis-scales it). A layer whose scale differs
    /// (rank_pattern, alpha_pattern) has the ratio folded into its lora_b, so every product comes out as peft's.
    /// - Throws: `ExportError.adapterNotApplicable` for what llama.cpp cannot apply (DoRA, trained biases,
    ///   modules_to_save copies, a LoRA on the tied lm_head), `.unsupportedOutType`, and the errors of `run`.
    public static func runAdapter(model folder: URL, adapter: URL, output: URL, outType: GGUFOutType, name: String? = nil,
                                  events: (GGUFExportEvent) -> Void = { _ in }) throws -> AdapterSummary {
        let start = Date()
        guard adapterOutTypes.contains(outType) else {
            throw ExportError.unsupportedOutType(name: outType.rawValue + " with --lora-only", supported: adapterOutTypes.map(\.rawValue))
        }
        try checkOutputFolder(of: output)
        let arch = try architecture(of: folder)
        let config = try ModelConfig(contentsOf: folder.appendingPathComponent("config.json"))
        let backend = try CPUBackend()
        let model = try CausalLM.load(folder: folder, backend: backend)
        let adapters = try PeftAdapterFolder.load(folder: adapter, for: model)
        try checkApplicable(adapters, config: config, adapter: adapter)

        let scales = adapters.modules.map { Double(adapters.config.alpha(of: $0.name)) / Self.rankDivisor($0.lora.rank, rslora: adapters.config.useRslora) }
        guard let first = adapters.modules.first, let firstScale = scales.first else {
            throw ExportError.adapterNotApplicable(adapter: adapter.path, what: "it adapts no layer", hint: "train an adapter with target_modules first")
        }
        let alpha = firstScale * Double(first.lora.rank)
        var tensors: [GGUFWriter.Tensor] = []
        var rescaled = 0
        for (index, module) in adapters.modules.enumerated() {
            let weight = module.name + ".weight"
            guard let base = GGUFTensorNames.ggufName(forHF: weight) else { throw ExportError.unmappedTensor(name: weight) }
            let lora = module.lora
            // llama.cpp multiplies by Float(alpha) / r; whatever else this layer's scale is goes into lora_b.
            let factor = scales[index] / (Double(Float(alpha)) / Double(lora.rank))
            if abs(factor - 1) > 1e-7 { rescaled += 1 }
            var heads: Int?
            if arch.arch.permutesQK {
                if module.name.hasSuffix("self_attn.q_proj") { heads = config.headCount }
                if module.name.hasSuffix("self_attn.k_proj") { heads = config.kvHeadCount }
            }
            for (suffix, tensor) in [(".lora_a", lora.a), (".lora_b", lora.b)] {
                let shape = tensor.shape                                                     // A [r, in], B [out, r]
                var type = outType.tensorType
                if let blockSize = type.blockSize, shape[1] % blockSize != 0 { type = .f16 }  // q8_0 needs rows of 32
                let isB = suffix == ".lora_b"
                let tensorName = base + suffix
                tensors.append(try GGUFWriter.Tensor(name: tensorName, shape: shape, type: type) { [heads, factor, type] body in
                    var values = try backend.download(tensor)
                    if isB {
                        if abs(factor - 1) > 1e-7 { values = values.map { Float(Double($0) * factor) } }
                        if let heads { values = GGUFWeights.permuteRows(values, heads: heads, rowLength: shape[1]) }
                    }
                    let bytes = try GGMLQuantizer.quantize(values, type: type, tensor: tensorName)
                    try bytes.withUnsafeBytes { try body($0) }
                })
            }
        }
        let metadata: [(key: String, value: GGUFValue)] = [
            ("general.architecture", .string(arch.arch.rawValue)),
            ("general.type", .string("adapter")),
            ("general.name", .string(name ?? adapter.standardized.lastPathComponent)),
            ("general.file_type", .uint32(outType.fileType)),
            ("adapter.type", .string("lora")),
            ("adapter.lora.alpha", .float32(Float(alpha))),
        ]
        events(.started(tensors: tensors.count, bytes: tensors.reduce(0) { $0 + $1.byteCount }))
        try GGUFWriter.write(metadata: metadata, tensors: tensors, to: output) { done, total, bytes in
            events(.wroteTensor(index: done, count: total, name: tensors[done - 1].name, type: tensors[done - 1].type, bytes: bytes))
        }
        let (size, counts) = written(output, tensors)
        return AdapterSummary(output: output, architecture: arch.arch.rawValue, outType: outType, modules: adapters.modules.count,
                              alpha: Double(Float(alpha)), rescaled: rescaled, typeCounts: counts, fileBytes: size,
                              seconds: Date().timeIntervalSince(start))
    }

    /// r, or √r with rsLoRA: what lora_alpha is divided by.
    static func rankDivisor(_ rank: Int, rslora: Bool) -> Double { rslora ? Double(rank).squareRoot() : Double(rank) }

    /// Refuses what llama.cpp's LoRA loader cannot apply, offering the merged export.
    static func checkApplicable(_ adapters: LoRAAdapters, config: ModelConfig, adapter: URL) throws {
        let hint = "export the merged model instead: tailor export gguf --model M --adapter \(adapter.path) --outtype f16 --output FILE.gguf"
        if let dora = adapters.modules.first(where: { $0.lora.magnitude != nil }) {
            throw ExportError.adapterNotApplicable(adapter: adapter.path, what: "\(dora.name) is DoRA (use_dora: a magnitude vector llama.cpp's LoRA format has no place for)", hint: hint)
        }
        if !adapters.residuals.isEmpty {
            throw ExportError.adapterNotApplicable(adapter: adapter.path, what: "it is a PiSSA/OLoRA adapter (init_lora_weights \(adapters.config.initLoraWeights.name)), trained on an adjusted base that llama.cpp would not apply it to", hint: "export its converted plain-LoRA form (pissa_converted/, written with pissa_convert: true) with --lora-only, or " + hint)
        }
        if let extra = adapters.tensors.first {
            throw ExportError.adapterNotApplicable(adapter: adapter.path, what: "it trains the full tensor \(extra.name) (modules_to_save or bias), which llama.cpp's LoRA format cannot carry", hint: hint)
        }
        if config.tieWordEmbeddings, adapters.modules.contains(where: { $0.name == "lm_head" }) {
            throw ExportError.adapterNotApplicable(adapter: adapter.path, what: "it adapts lm_head, which this model ties to its embeddings (the GGUF has no output.weight to apply it to)", hint: hint)
        }
    }
}
