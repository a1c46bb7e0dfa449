import Foundation
import TailorModels
import TailorTensor

/// Prefix tuning with peft's `prefix_projection: true`: the prefix table [P, L·2·T] (T = Hkv·D,
/// peft's token_dim) is computed by peft's PrefixEncoder from an embedding table E [P, T],
///     table = W₂·tanh(W₁·E + b₁) + b₂        W₁ [H, T], W₂ [L·2·T, H]   (H: encoder_hidden_size),
/// and the encoder's tensors are what trains. The model reads the computed table as a plain prefix
/// (`prefix`, split per layer); peft saves only that table, with `prefix_projection: true` in the
/// config, and so does `write`. The encoder runs on the host (`HostDense`).
public final class PrefixProjection: VirtualTokenEncoder, @unchecked Sendable {
    /// The prefix the model reads, as the encoder last computed it.
    public let prefix: PrefixTuning
    public let encoderHiddenSize: Int
    /// The encoder's tensors by their names inside peft's `prompt_encoder.default`: embedding.weight,
    /// transform.0.{weight,bias}, transform.2.{weight,bias}.
    public let tensors: [(name: String, value: Tensor)]
    /// tanh(W₁·E + b₁) [P, H], kept by `refresh` for `backward`.
    private var hidden: [Float]?

    public var numVirtualTokens: Int { prefix.numVirtualTokens }

    /// peft's PrefixEncoder tensor names with their shapes for P virtual tokens, token_dim T, L layers and hidden H.
    public static func shapes(p: Int, tokenDim t: Int, layers: Int, h: Int) -> [(name: String, shape: [Int])] {
        [("embedding.weight", [p, t]), ("transform.0.weight", [h, t]), ("transform.0.bias", [h]),
         ("transform.2.weight", [layers * 2 * t, h]), ("transform.2.bias", [layers * 2 * t])]
    }

    /// A projected prefix for `model`: from `initial` (values by encoder tensor name, e.g. peft's own
    /// start), or torch's defaults drawn from Tailor's generator (E normal with std 1, each Linear
    /// uniform in ±1/√fan-in). H defaults to T, as peft sets it.
    /// - Throws: `AdapterError.badOption` for settings that do not fit the model or a mis-shaped initial tensor.
    public static func make(for model: CausalLM, numVirtualTokens p: Int, encoderHiddenSize: Int? = nil, seed: UInt64 = 0,
                            initial: ((String, [Int]) throws -> [Float]?)? = nil) throws -> PrefixProjection {
        try PromptTuningConfig(numVirtualTokens: p).check(for: model.config)
        let (t, layers) = (model.config.kvDim, model.config.layerCount)
        let h = encoderHiddenSize ?? t
        guard h >= 1 else { throw AdapterError.badOption(name: "encoder_hidden_size", problem: "must be at least 1 (got \(h))") }
        var generator = SplitMix64(state: seed ^ 0x7072_6f6a_6563_74)  // "project"
        let tensors = try startTensors(shapes(p: p, tokenDim: t, layers: layers, h: h), backend: model.backend, generator: &generator,
                                       fanIn: { $0.hasPrefix("transform.0") ? t : h }, initial: initial)
        let shape = [p, t]
        let prefix = try (0..<layers).map { _ in
            VirtualTokens.LayerPrefix(key: try model.backend.zeros(shape, dtype: .f32), value: try model.backend.zeros(shape, dtype: .f32))
        }
        let result = PrefixProjection(prefix: PrefixTuning(numVirtualTokens: p, encoderHiddenSize: h, projected: true, prefix: prefix),
                                      encoderHiddenSize: h, tensors: tensors)
        try result.refresh(backend: model.backend)
        return result
    }

    init(prefix: PrefixTuning, encoderHiddenSize: Int, tensors: [(name: String, value: Tensor)]) {
        self.prefix = prefix
        self.encoderHiddenSize = encoderHiddenSize
        self.tensors = tensors
    }

    private var layers: [VirtualTokens.LayerPrefix] { prefix.virtualTokens.prefix ?? [] }
    private var tokenDim: Int { tensors[0].value.shape[1] }

    /// The model accumulates the prefix's gradient per layer and kind, [P, T] each.
    public var outputGradients: [(name: String, shape: [Int])] {
        layers.indices.flatMap { layer -> [(name: String, shape: [Int])] in
            let names = VirtualTokens.prefixGradientNames(layer: layer)
            return [(names.key, [numVirtualTokens, tokenDim]), (names.value, [numVirtualTokens, tokenDim])]
        }
    }

    /// Computes the prefix from the encoder's tensors as they are now (after each optimizer step).
    public func refresh(backend: Backend) throws {
        let (p, t, h) = (numVirtualTokens, tokenDim, encoderHiddenSize)
        let v = try tensors.map { try backend.download($0.value) }
        let first = try HostDense.linear(v[0], rows: p, inputs: t, weight: v[1], bias: v[2], outputs: h).map { tanh($0) }
        let table = try HostDense.linear(first, rows: p, inputs: h, weight: v[3], bias: v[4], outputs: layers.count * 2 * t)
        hidden = first
        try prefix.load(peftTable: table, backend: backend)
    }

    /// Adds into `gradients` (under the encoder tensors' names) the gradient of the loss through the
    /// encoder, from the per-layer prefix gradients there (`VirtualTokens.prefixGradientNames`).
    public func backward(gradients: GradientStore, backend: Backend) throws {
        guard let hidden else { return }
        let (p, t, h, out) = (numVirtualTokens, tokenDim, encoderHiddenSize, layers.count * 2 * tokenDim)
        let parts = try layers.indices.map { layer -> (key: [Float], value: [Float]) in
            let names = VirtualTokens.prefixGradientNames(layer: layer)
            func read(_ name: String) throws -> [Float] {
                try gradients[name].map { try backend.download($0) } ?? [Float](repeating: 0, count: p * t)
            }
            return (try read(names.key), try read(names.value))
        }
        let dTable = PrefixTuning.table(parts, rows: p)  // [P, L·2·T]
        let v = try tensors.map { try backend.download($0.value) }
        var d: [[Float]] = Array(repeating: [], count: 5)
        d[3] = try HostDense.weightGradient(dTable, rows: p, outputs: out, input: hidden, inputs: h)
        d[4] = HostDense.columnSums(dTable, rows: p, columns: out)
        var dHidden = try HostDense.inputGradient(dTable, rows: p, outputs: out, weight: v[3], inputs: h)
        for i in dHidden.indices { dHidden[i] *= 1 - hidden[i] * hidden[i] }  // tanh' = 1 - tanh²
        d[1] = try HostDense.weightGradient(dHidden, rows: p, outputs: h, input: v[0], inputs: t)
        d[2] = HostDense.columnSums(dHidden, rows: p, columns: h)
        d[0] = try HostDense.inputGradient(dHidden, rows: p, outputs: h, weight: v[1], inputs: t)
        try HostDense.accumulate(d, into: gradients, tensors: tensors, backend: backend)
    }

    public func attach(to model: CausalLM) throws { try prefix.attach(to: model) }
    public func detach(from model: CausalLM) throws { try prefix.detach(from: model) }

    public func write(model: CausalLM, to folder: URL, baseModel: String, revision: String?) throws {
        try refresh(backend: model.backend)
        try PrefixTuningWriter.write(prefix, model: model, to: folder, baseModel: baseModel, revision: revision)
    }
}
