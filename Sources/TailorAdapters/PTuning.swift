import Foundation
import TailorModels
import TailorTensor

/// P-tuning (peft's P_TUNING, Liu et al. 2021): the virtual tokens' embeddings are computed by
/// peft's prompt encoder from an embedding table E [P, C], and the encoder's tensors are what trains:
///     MLP:  table = W₃·relu(W₂·relu(W₁·E + b₁) + b₂) + b₃        W₁ [H, C], W₂ [H, H], W₃ [C, H]
///     LSTM: table = W₂·relu(W₁·lstm(E) + b₁) + b₂                 lstm: `encoder_num_layers` bidirectional
///                                                                 layers of H per direction; W₁ [2H, 2H], W₂ [C, 2H]
/// peft saves only `table` (as prompt tuning's `prompt_embeddings`), so a saved folder reads back as
/// prompt tuning for generation. The encoder runs on the host (`HostDense`, `HostLSTM`): P rows once
/// per optimizer step (`refresh`) and once backward (`backward`).
public final class PTuning: VirtualTokenEncoder, @unchecked Sendable {
    /// peft's `encoder_reparameterization_type`.
    public enum Encoder: Equatable, Sendable {
        /// Linear, ReLU, Linear, ReLU, Linear (peft's default).
        case mlp
        /// A bidirectional LSTM of `layers` layers (peft's `encoder_num_layers`), then Linear, ReLU, Linear.
        case lstm(layers: Int)

        /// peft's name of the encoder type.
        public var peftName: String { self == .mlp ? "MLP" : "LSTM" }
        /// peft's `encoder_num_layers` (ignored by the MLP, which has 2 hidden layers: peft's default).
        public var layerCount: Int { if case let .lstm(layers) = self { return layers } else { return 2 } }
    }

    /// `num_virtual_tokens` (P), `encoder_hidden_size` (H) and the encoder type.
    public let numVirtualTokens: Int
    public let encoderHiddenSize: Int
    public let encoder: Encoder
    /// The encoder's tensors, by their names inside peft's `prompt_encoder.default` (embedding.weight,
    /// lstm_head.*, mlp_head.*), in peft's named_parameters order.
    public let tensors: [(name: String, value: Tensor)]
    /// The table [P, C] the model reads while attached, as the encoder last computed it.
    public let table: Tensor
    public let virtualTokens: VirtualTokens
    /// What `refresh` keeps for `backward`: the MLP's hidden activations, or the LSTM's states and its head's hidden.
    private var kept: (lstm: HostLSTM.Forward?, hidden: [[Float]])?

    /// peft's prompt encoder's tensor names with their shapes for P virtual tokens, width C and hidden H.
    public static func shapes(p: Int, c: Int, h: Int, encoder: Encoder = .mlp) -> [(name: String, shape: [Int])] {
        switch encoder {
        case .mlp:
            return [("embedding.weight", [p, c]), ("mlp_head.0.weight", [h, c]), ("mlp_head.0.bias", [h]),
                    ("mlp_head.2.weight", [h, h]), ("mlp_head.2.bias", [h]), ("mlp_head.4.weight", [c, h]), ("mlp_head.4.bias", [c])]
        case let .lstm(layers):
            return [("embedding.weight", [p, c])] + HostLSTM.shapes(inputs: c, hidden: h, layers: layers).map { ("lstm_head." + $0.name, $0.shape) }
                + [("mlp_head.0.weight", [2 * h, 2 * h]), ("mlp_head.0.bias", [2 * h]), ("mlp_head.2.weight", [c, 2 * h]), ("mlp_head.2.bias", [c])]
        }
    }

    /// A P-tuning encoder for `model`: from `initial` (values by encoder tensor name, e.g. peft's
    /// own start), or torch's defaults drawn from Tailor's generator (E normal with std 1; each
    /// Linear's weight and bias uniform in ±1/√fan-in, the LSTM's in ±1/√H).
    /// - Throws: `AdapterError.badOption` for settings that do not fit the model or a missing / mis-shaped initial tensor.
    public static func make(for model: CausalLM, numVirtualTokens p: Int, encoderHiddenSize h: Int, encoder: Encoder = .mlp,
                            seed: UInt64 = 0, initial: ((String, [Int]) throws -> [Float]?)? = nil) throws -> PTuning {
        try PromptTuningConfig(numVirtualTokens: p).check(for: model.config)
        guard h >= 1 else { throw AdapterError.badOption(name: "encoder_hidden_size", problem: "must be at least 1 (got \(h))") }
        if encoder.layerCount < 1 { throw AdapterError.badOption(name: "encoder_num_layers", problem: "must be at least 1 (got \(encoder.layerCount))") }
        let c = model.config.hiddenSize
        var generator = SplitMix64(state: seed ^ 0x7074_756e_696e_67)  // "ptuning"
        let tensors = try startTensors(shapes(p: p, c: c, h: h, encoder: encoder), backend: model.backend, generator: &generator,
                                       fanIn: { name in
                                           if name.hasPrefix("lstm_head.") { return h }
                                           if encoder == .mlp { return name.hasPrefix("mlp_head.0") ? c : h }
                                           return 2 * h
                                       }, initial: initial)
        let result = PTuning(numVirtualTokens: p, encoderHiddenSize: h, encoder: encoder, tensors: tensors,
                             table: try model.backend.zeros([p, c], dtype: .f32))
        try result.refresh(backend: model.backend)
        return result
    }

    init(numVirtualTokens: Int, encoderHiddenSize: Int, encoder: Encoder, tensors: [(name: String, value: Tensor)], table: Tensor) {
        self.numVirtualTokens = numVirtualTokens
        self.encoderHiddenSize = encoderHiddenSize
        self.encoder = encoder
        self.tensors = tensors
        self.table = table
        virtualTokens = VirtualTokens(embeddings: table)
    }

    /// The model accumulates the table's gradient under prompt tuning's name.
    public var outputGradients: [(name: String, shape: [Int])] { [(VirtualTokens.gradientName, table.shape)] }

    /// The head's Linear layers after the embedding (MLP) or the LSTM (LSTM): their tensors' first
    /// index in `tensors` and widths, in order.
    private var head: (first: Int, widths: [Int]) {
        let (h, c) = (encoderHiddenSize, table.shape[1])
        switch encoder {
        case .mlp: return (1, [c, h, h, c])
        case let .lstm(layers): return (1 + 8 * layers, [2 * h, 2 * h, c])
        }
    }

    /// Computes `table` from the encoder's tensors as they are now (after each optimizer step).
    public func refresh(backend: Backend) throws {
        let p = numVirtualTokens
        let v = try tensors.map { try backend.download($0.value) }
        var lstm: HostLSTM.Forward?
        var x = v[0]
        if case let .lstm(layers) = encoder {
            let forward = try HostLSTM(inputs: table.shape[1], hidden: encoderHiddenSize, layers: layers).forward(x, rows: p, tensors: Array(v[1..<(1 + 8 * layers)]))
            x = forward.output
            lstm = forward
        }
        // Linear, ReLU, … Linear.
        let (first, widths) = head
        var hidden: [[Float]] = []
        for layer in 0..<(widths.count - 1) {
            x = try HostDense.linear(x, rows: p, inputs: widths[layer], weight: v[first + 2 * layer], bias: v[first + 2 * layer + 1],
                                     outputs: widths[layer + 1])
            if layer < widths.count - 2 {
                x = x.map { max($0, 0) }
                hidden.append(x)
            }
        }
        kept = (lstm, hidden)
        try backend.copy(try backend.upload(x, shape: [p, table.shape[1]], dtype: .f32), into: table)
    }

    /// Adds into `gradients` (under the encoder tensors' names) the gradient of the loss through
    /// the encoder, from the table's gradient there (`VirtualTokens.gradientName`, [P, C]).
    public func backward(gradients: GradientStore, backend: Backend) throws {
        guard let kept, let dTable = gradients[VirtualTokens.gradientName] else { return }
        let p = numVirtualTokens
        let v = try tensors.map { try backend.download($0.value) }
        var d: [[Float]] = Array(repeating: [], count: tensors.count)
        let (first, widths) = head
        // Back through the head: layer l maps widths[l] → widths[l + 1]; its input is the embedding
        // (or the LSTM's output) for l = 0, else the ReLU of layer l - 1.
        var dY = try backend.download(dTable)
        for layer in stride(from: widths.count - 2, through: 0, by: -1) {
            let input = layer == 0 ? (kept.lstm?.output ?? v[0]) : kept.hidden[layer - 1]
            d[first + 2 * layer] = try HostDense.weightGradient(dY, rows: p, outputs: widths[layer + 1], input: input, inputs: widths[layer])
            d[first + 2 * layer + 1] = HostDense.columnSums(dY, rows: p, columns: widths[layer + 1])
            var dX = try HostDense.inputGradient(dY, rows: p, outputs: widths[layer + 1], weight: v[first + 2 * layer], inputs: widths[layer])
            if layer > 0 { for i in dX.indices where input[i] <= 0 { dX[i] = 0 } }
            dY = dX
        }
        if let lstm = kept.lstm, case let .lstm(layers) = encoder {
            let back = try HostLSTM(inputs: table.shape[1], hidden: encoderHiddenSize, layers: layers)
                .backward(dY, forward: lstm, rows: p, tensors: Array(v[1..<(1 + 8 * layers)]))
            for (offset, gradient) in back.tensors.enumerated() { d[1 + offset] = gradient }
            dY = back.input
        }
        d[0] = dY
        try HostDense.accumulate(d, into: gradients, tensors: tensors, backend: backend)
    }

    /// Puts the computed virtual tokens before every sequence `model` runs.
    public func attach(to model: CausalLM) throws {
        if let current = model.virtualTokens, current !== virtualTokens {
            throw AdapterError.badOption(name: "adapter", problem: "cannot attach P-tuning: the model already carries other virtual tokens; detach them first")
        }
        guard table.shape == [numVirtualTokens, model.config.hiddenSize] else {
            throw AdapterError.badOption(name: "token_dim", problem: "is \(table.shape.last ?? 0), but this model's hidden_size is \(model.config.hiddenSize)")
        }
        model.virtualTokens = virtualTokens
    }

    public func detach(from model: CausalLM) throws {
        if model.virtualTokens === virtualTokens { model.virtualTokens = nil }
    }

    /// The table as prompt tuning (what peft saves and generation reads).
    public var asPromptTuning: PromptTuning {
        PromptTuning(config: PromptTuningConfig(numVirtualTokens: numVirtualTokens), table: table)
    }

    public func write(model: CausalLM, to folder: URL, baseModel: String, revision: String?) throws {
        try PromptTuningWriter.write(self, model: model, to: folder, baseModel: baseModel, revision: revision)
    }
}
