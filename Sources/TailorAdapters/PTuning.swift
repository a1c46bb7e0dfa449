import TailorModels
import TailorTensor

/// P-tuning (peft's P_TUNING with `encoder_reparameterization_type: MLP`, Liu et al. 2021): the
/// virtual tokens' embeddings are computed by peft's prompt encoder,
///     table = W₃·relu(W₂·relu(W₁·E + b₁) + b₂) + b₃      E [P, C], W₁ [H, C], W₂ [H, H], W₃ [C, H],
/// and the encoder's tensors are what trains. peft saves only `table` (as prompt tuning's
/// `prompt_embeddings`), so a saved folder reads back as prompt tuning for generation.
///
/// The encoder runs on the host (`LinearAlgebra.matmul`): P rows through three [≤ C, ≤ H] products once
/// per optimizer step (`refresh`) and once backward (`backward`), against a whole model's forward and
/// backward per micro-batch.
public final class PTuning: AttachableAdapters, @unchecked Sendable {
    /// `num_virtual_tokens` (P) and `encoder_hidden_size` (H).
    public let numVirtualTokens: Int
    public let encoderHiddenSize: Int
    /// The encoder's tensors, by their names inside peft's `prompt_encoder.default` (embedding.weight,
    /// mlp_head.{0,2,4}.{weight,bias}), in peft's named_parameters order.
    public let tensors: [(name: String, value: Tensor)]
    /// The table [P, C] the model reads while attached, as the encoder last computed it.
    public let table: Tensor
    public let virtualTokens: VirtualTokens
    /// The activations `refresh` keeps for `backward`: relu(W₁·E + b₁) and relu(W₂·h₁ + b₂), [P, H] each.
    private var hidden: (first: [Float], second: [Float])?

    /// peft's prompt encoder's tensor names with their shapes for P virtual tokens, width C and hidden H.
    public static func shapes(p: Int, c: Int, h: Int) -> [(name: String, shape: [Int])] {
        [("embedding.weight", [p, c]), ("mlp_head.0.weight", [h, c]), ("mlp_head.0.bias", [h]),
         ("mlp_head.2.weight", [h, h]), ("mlp_head.2.bias", [h]), ("mlp_head.4.weight", [c, h]), ("mlp_head.4.bias", [c])]
    }

    /// The name peft's PeftModel gives encoder tensor `name` (what Trainer and a state dict call it).
    public static func peftName(_ name: String) -> String { "prompt_encoder.default." + name }

    /// A P-tuning encoder for `model`: from `initial` (values by encoder tensor name, e.g. peft's
    /// own start), or torch's defaults drawn from Tailor's generator (E normal with std 1; each
    /// Linear's weight and bias uniform in ±1/√fan-in).
    /// - Throws: `AdapterError.badOption` for settings that do not fit the model or a missing / mis-shaped initial tensor.
    public static func make(for model: CausalLM, numVirtualTokens p: Int, encoderHiddenSize h: Int, seed: UInt64 = 0,
                            initial: ((String, [Int]) throws -> [Float]?)? = nil) throws -> PTuning {
        try PromptTuningConfig(numVirtualTokens: p).check(for: model.config)
        guard h >= 1 else { throw AdapterError.badOption(name: "encoder_hidden_size", problem: "must be at least 1 (got \(h))") }
        let c = model.config.hiddenSize
        var generator = SplitMix64(state: seed ^ 0x7074_756e_696e_67)  // "ptuning"
        let tensors = try shapes(p: p, c: c, h: h).map { name, shape -> (name: String, value: Tensor) in
            let count = shape.reduce(1, *)
            var values = try initial?(name, shape)
            if let given = values, given.count != count {
                throw AdapterError.badOption(name: name, problem: "has \(given.count) values for shape \(shape)")
            }
            if values == nil {
                if name == "embedding.weight" {
                    values = count.normals(&generator)
                } else {
                    let fanIn = Float(name.hasPrefix("mlp_head.0") ? c : h)
                    values = (0..<count).map { _ in (generator.nextFloat() * 2 - 1) / fanIn.squareRoot() }
                }
            }
            return (name, try model.backend.upload(values ?? [], shape: shape, dtype: .f32))
        }
        let encoder = PTuning(numVirtualTokens: p, encoderHiddenSize: h, tensors: tensors,
                              table: try model.backend.zeros([p, c], dtype: .f32))
        try encoder.refresh(backend: model.backend)
        return encoder
    }

    init(numVirtualTokens: Int, encoderHiddenSize: Int, tensors: [(name: String, value: Tensor)], table: Tensor) {
        self.numVirtualTokens = numVirtualTokens
        self.encoderHiddenSize = encoderHiddenSize
        self.tensors = tensors
        self.table = table
        virtualTokens = VirtualTokens(embeddings: table)
    }

    /// Number of trainable parameters (peft's `get_nb_trainable_parameters()[0]`).
    public var parameterCount: Int { tensors.reduce(0) { $0 + $1.value.count } }

    /// Computes `table` from the encoder's tensors as they are now (after each optimizer step).
    public func refresh(backend: Backend) throws {
        let (p, h, c) = (numVirtualTokens, encoderHiddenSize, table.shape[1])
        let v = try tensors.map { try backend.download($0.value) }
        let first = try Self.linear(v[0], rows: p, inputs: c, weight: v[1], bias: v[2], outputs: h).map { max($0, 0) }
        let second = try Self.linear(first, rows: p, inputs: h, weight: v[3], bias: v[4], outputs: h).map { max($0, 0) }
        let out = try Self.linear(second, rows: p, inputs: h, weight: v[5], bias: v[6], outputs: c)
        hidden = (first, second)
        try backend.copy(try backend.upload(out, shape: [p, c], dtype: .f32), into: table)
    }

    /// Accumulates into `gradients` (under the encoder tensors' names) the gradient of the loss
    /// through the encoder, from `dTable` [P, C], the loss's gradient with respect to the table.
    public func backward(dTable: Tensor, gradients: GradientStore, backend: Backend) throws {
        guard let hidden else { return }
        let (p, h, c) = (numVirtualTokens, encoderHiddenSize, table.shape[1])
        let v = try tensors.map { try backend.download($0.value) }
        let dOut = try backend.download(dTable)
        // out = h₂·W₃ᵀ + b₃; h₂ = relu(h₁·W₂ᵀ + b₂); h₁ = relu(E·W₁ᵀ + b₁).
        var d: [[Float]] = Array(repeating: [], count: 7)
        d[5] = try Self.weightGradient(dOut, rows: p, outputs: c, input: hidden.second, inputs: h)
        d[6] = Self.columnSums(dOut, rows: p, columns: c)
        var dSecond = try Self.inputGradient(dOut, rows: p, outputs: c, weight: v[5], inputs: h)
        for i in dSecond.indices where hidden.second[i] <= 0 { dSecond[i] = 0 }
        d[3] = try Self.weightGradient(dSecond, rows: p, outputs: h, input: hidden.first, inputs: h)
        d[4] = Self.columnSums(dSecond, rows: p, columns: h)
        var dFirst = try Self.inputGradient(dSecond, rows: p, outputs: h, weight: v[3], inputs: h)
        for i in dFirst.indices where hidden.first[i] <= 0 { dFirst[i] = 0 }
        d[1] = try Self.weightGradient(dFirst, rows: p, outputs: h, input: v[0], inputs: c)
        d[2] = Self.columnSums(dFirst, rows: p, columns: h)
        d[0] = try Self.inputGradient(dFirst, rows: p, outputs: h, weight: v[1], inputs: c)
        for (index, tensor) in tensors.enumerated() {
            guard let gradient = gradients[tensor.name] else { continue }
            try backend.axpy(1, try backend.upload(d[index], shape: tensor.value.shape, dtype: .f32), gradient)
        }
    }

    // x [rows, inputs] · Wᵀ (W [outputs, inputs]) + b.
    static func linear(_ x: [Float], rows: Int, inputs: Int, weight: [Float], bias: [Float], outputs: Int) throws -> [Float] {
        var out = try LinearAlgebra.matmul(x, weight, transposeB: true, m: rows, n: outputs, k: inputs)
        for r in 0..<rows { for o in 0..<outputs { out[r * outputs + o] += bias[o] } }
        return out
    }

    // dW [outputs, inputs] = dYᵀ · x.
    static func weightGradient(_ dY: [Float], rows: Int, outputs: Int, input x: [Float], inputs: Int) throws -> [Float] {
        try LinearAlgebra.matmul(dY, transposeA: true, x, m: outputs, n: inputs, k: rows)
    }

    // dX [rows, inputs] = dY · W.
    static func inputGradient(_ dY: [Float], rows: Int, outputs: Int, weight: [Float], inputs: Int) throws -> [Float] {
        try LinearAlgebra.matmul(dY, weight, m: rows, n: inputs, k: outputs)
    }

    static func columnSums(_ x: [Float], rows: Int, columns: Int) -> [Float] {
        (0..<columns).map { column in Float((0..<rows).reduce(0.0) { $0 + Double(x[$1 * columns + column]) }) }
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
}
