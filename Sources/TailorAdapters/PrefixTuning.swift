import TailorModels
import TailorTensor

/// Prefix tuning (peft's PREFIX_TUNING, Li & Liang 2021): P learned keys and values in every layer,
/// put in front of every sequence's own in attention and in the KV cache, as peft passes them as
/// `past_key_values` (unrotated; the sequence's positions start at P). The base model is untouched.
///
/// peft trains and saves one table `prompt_embeddings` [P, L·2·Hkv·D], row p holding for each layer l
/// its key (columns 2l·Hkv·D ..<) then its value; Tailor keeps one [P, Hkv·D] tensor per layer and
/// kind (`VirtualTokens.prefix`), which AdamW and the gradient norm treat element for element alike,
/// and lays them back into peft's table to save.
public final class PrefixTuning: AttachableAdapters, @unchecked Sendable {
    /// `num_virtual_tokens`: P.
    public let numVirtualTokens: Int
    /// `encoder_hidden_size` as the folder gave it (only a `prefix_projection` encoder uses it).
    public let encoderHiddenSize: Int?
    /// `prefix_projection`: whether the prefix was computed by an encoder (`PrefixProjection`)
    /// while training; the saved table is its output, read as a plain prefix.
    public let projected: Bool
    public let virtualTokens: VirtualTokens

    public init(numVirtualTokens: Int, encoderHiddenSize: Int? = nil, projected: Bool = false, prefix: [VirtualTokens.LayerPrefix]) {
        self.numVirtualTokens = numVirtualTokens
        self.encoderHiddenSize = encoderHiddenSize
        self.projected = projected
        virtualTokens = VirtualTokens(prefix: prefix)
    }

    /// peft's name of the one tensor saved.
    public static let tensorName = VirtualTokens.gradientName

    /// Number of trainable parameters (peft's `get_nb_trainable_parameters()[0]`): P × L × 2 × Hkv·D.
    public var parameterCount: Int { (virtualTokens.prefix ?? []).reduce(0) { $0 + $1.key.count + $1.value.count } }

    /// The tensors trained, with their names in a `GradientStore`: each layer's key then value.
    public var trainableTensors: [(name: String, value: Tensor)] {
        (virtualTokens.prefix ?? []).enumerated().flatMap { layer, prefix -> [(name: String, value: Tensor)] in
            let names = VirtualTokens.prefixGradientNames(layer: layer)
            return [(names.key, prefix.key), (names.value, prefix.value)]
        }
    }

    /// A fresh prefix for `model`: every value normal with std 1, as peft's PrefixEncoder embedding
    /// starts (drawn from Tailor's own generator, not torch's numbers).
    /// - Throws: `AdapterError.badOption` for a count that does not fit the model.
    public static func make(for model: CausalLM, numVirtualTokens: Int, seed: UInt64 = 0) throws -> PrefixTuning {
        try PromptTuningConfig(numVirtualTokens: numVirtualTokens).check(for: model.config)
        var generator = SplitMix64(state: seed ^ 0x7072_6566_6978)  // "prefix"
        let shape = [numVirtualTokens, model.config.kvDim]
        let prefix = try (0..<model.config.layerCount).map { _ in
            VirtualTokens.LayerPrefix(key: try model.backend.upload(shape.reduce(1, *).normals(&generator), shape: shape, dtype: .f32),
                                      value: try model.backend.upload(shape.reduce(1, *).normals(&generator), shape: shape, dtype: .f32))
        }
        return PrefixTuning(numVirtualTokens: numVirtualTokens, prefix: prefix)
    }

    /// The prefix from peft's table [P, L·2·Hkv·D] (`prompt_embeddings`, row-major).
    public static func fromPeftTable(_ values: [Float], numVirtualTokens p: Int, model: CausalLM, encoderHiddenSize: Int? = nil,
                                     projected: Bool = false) throws -> PrefixTuning {
        let parts = split(values, rows: p, layers: model.config.layerCount, width: model.config.kvDim)
        let shape = [p, model.config.kvDim]
        let prefix = try parts.map { key, value in
            VirtualTokens.LayerPrefix(key: try model.backend.upload(key, shape: shape, dtype: .f32),
                                      value: try model.backend.upload(value, shape: shape, dtype: .f32))
        }
        return PrefixTuning(numVirtualTokens: p, encoderHiddenSize: encoderHiddenSize, projected: projected, prefix: prefix)
    }

    /// Each layer's keys and values [rows, width] from peft's table [rows, layers·2·width].
    static func split(_ values: [Float], rows: Int, layers: Int, width: Int) -> [(key: [Float], value: [Float])] {
        precondition(values.count == rows * layers * 2 * width, "a prefix table of \(rows) × \(layers * 2 * width)")
        func part(_ layer: Int, _ which: Int) -> [Float] {
            var out: [Float] = []
            out.reserveCapacity(rows * width)
            for row in 0..<rows {
                let start = (row * layers * 2 + 2 * layer + which) * width
                out += values[start..<(start + width)]
            }
            return out
        }
        return (0..<layers).map { (part($0, 0), part($0, 1)) }
    }

    /// Copies peft's table [P, L·2·Hkv·D] (a checkpoint's `prompt_embeddings`) into this prefix's tensors.
    public func load(peftTable values: [Float], backend: Backend) throws {
        let prefix = virtualTokens.prefix ?? []
        let width = prefix.first?.key.shape.last ?? 0
        for (layer, (key, value)) in Self.split(values, rows: numVirtualTokens, layers: prefix.count, width: width).enumerated() {
            try backend.copy(try backend.upload(key, shape: prefix[layer].key.shape, dtype: .f32), into: prefix[layer].key)
            try backend.copy(try backend.upload(value, shape: prefix[layer].value.shape, dtype: .f32), into: prefix[layer].value)
        }
    }

    /// peft's table [P, L·2·Hkv·D] of this prefix, row-major.
    public func peftTable(backend: Backend) throws -> [Float] {
        try Self.table((virtualTokens.prefix ?? []).map { (try backend.download($0.key), try backend.download($0.value)) },
                       rows: numVirtualTokens)
    }

    /// peft's table [rows, layers·2·width] from each layer's keys and values [rows, width] (`split`'s inverse).
    static func table(_ parts: [(key: [Float], value: [Float])], rows: Int) -> [Float] {
        let width = (parts.first?.key.count ?? 0) / max(rows, 1)
        var table: [Float] = []
        table.reserveCapacity(rows * parts.count * 2 * width)
        for row in 0..<rows {
            for (key, value) in parts {
                table += key[(row * width)..<((row + 1) * width)]
                table += value[(row * width)..<((row + 1) * width)]
            }
        }
        return table
    }

    /// Puts the prefix in front of every sequence `model` runs.
    /// - Throws: `AdapterError.badOption` when the model already carries other virtual tokens or has other shapes.
    public func attach(to model: CausalLM) throws {
        if let current = model.virtualTokens, current !== virtualTokens {
            throw AdapterError.badOption(name: "adapter", problem: "cannot attach prefix tuning: the model already carries other virtual tokens; detach them first")
        }
        guard let prefix = virtualTokens.prefix, prefix.count == model.config.layerCount,
              prefix.allSatisfy({ $0.key.shape == [numVirtualTokens, model.config.kvDim] }) else {
            throw AdapterError.badOption(name: "num_layers", problem: "does not fit this model's \(model.config.layerCount) layers of \(model.config.kvDim) key/value columns; was the adapter made for another base model?")
        }
        model.virtualTokens = virtualTokens
    }

    public func detach(from model: CausalLM) throws {
        if model.virtualTokens === virtualTokens { model.virtualTokens = nil }
    }
}

extension Int {
    /// `self` draws of a standard normal from `generator`.
    func normals(_ generator: inout SplitMix64) -> [Float] { (0..<self).map { _ in Float(generator.nextGaussian()) } }
}
