import TailorTensor

/// A linear layer y = x·Wᵀ + b with its Hugging Face weight name.
///
/// The weight is frozen base storage in its file dtype unless made trainable; adapters (LoRA)
/// attach to a Linear as side paths rather than replacing it.
public struct Linear: Sendable {
    /// Hugging Face name of the weight, e.g. "model.layers.0.self_attn.q_proj.weight".
    public var name: String
    /// [out, in]
    public var weight: Tensor
    /// [out], when the layer has a bias.
    public var bias: Tensor?
    /// A trainable side path added to the output (LoRA), or an adapter that rescales the layer (IA³), or nil.
    public var adapter: (any LinearAdapter)?

    public init(name: String, weight: Tensor, bias: Tensor? = nil) {
        self.name = name
        self.weight = weight
        self.bias = bias
    }

    public var inFeatures: Int { weight.shape[1] }
    public var outFeatures: Int { weight.shape[0] }
    /// Hugging Face name of the bias.
    public var biasName: String { String(name.dropLast("weight".count)) + "bias" }

    /// out[N, out] = x[N, in] · Wᵀ + b, and the adapter's part (`LinearAdapter.forward(_:through:into:backend:)`).
    func forward(_ x: Tensor, into out: Tensor, backend: Backend) throws {
        guard let adapter else { return try baseForward(x, into: out, backend: backend) }
        try adapter.forward(x, through: self, into: out, backend: backend)
    }

    /// out[N, out] = x[N, in] · Wᵀ + b, the layer alone (no adapter).
    public func baseForward(_ x: Tensor, into out: Tensor, backend: Backend) throws {
        try backend.gemm(x, transposeA: false, weight, transposeB: true, into: out, alpha: 1, beta: 0)
        if let bias { try backend.addBias(out, bias: bias) }
    }

    /// dx[N, in] (=, or += when `accumulate`) dOut[N, out] · W, and the requested parameter
    /// gradients: dW[out, in] += dOutᵀ · x, db[out] += Σ dOut.
    func backward(_ dOut: Tensor, input x: Tensor, dx: Tensor?, accumulate: Bool,
                  gradients: GradientStore, backend: Backend) throws {
        guard let adapter else {
            return try baseBackward(dOut, input: x, dx: dx, accumulate: accumulate, gradients: gradients, backend: backend)
        }
        try adapter.backward(dOut, input: x, through: self, dx: dx, accumulate: accumulate, gradients: gradients, backend: backend)
    }

    /// The layer's own backward (no adapter): dx[N, in] (=, or += when `accumulate`) dOut[N, out] · W,
    /// dW[out, in] += dOutᵀ · x and db[out] += Σ dOut when `gradients` holds them.
    public func baseBackward(_ dOut: Tensor, input x: Tensor, dx: Tensor?, accumulate: Bool,
                             gradients: GradientStore, backend: Backend) throws {
        if let dx {
            try backend.gemm(dOut, transposeA: false, weight, transposeB: false, into: dx, alpha: 1, beta: accumulate ? 1 : 0)
        }
        if let dWeight = gradients[name] {
            try backend.gemm(dOut, transposeA: true, x, transposeB: false, into: dWeight, alpha: 1, beta: 1)
        }
        if bias != nil, let dBias = gradients[biasName] {
            try backend.biasBackward(dOut, dBias: dBias)
        }
    }
}

/// A side path on a Linear, y += f(x): LoRA and its variants (in TailorAdapters) implement it,
/// so the model code stays the same with or without adapters.
public protocol LinearAdapter: AnyObject, Sendable {
    /// out[N, out] += f(x[N, in]).
    func forward(_ x: Tensor, addingTo out: Tensor, backend: Backend) throws
    /// dx[N, in] += ∂f/∂x · dOut (when dx is given), and accumulates the adapter's parameter
    /// gradients present in `gradients`.
    func backward(_ dOut: Tensor, input x: Tensor, addingTo dx: Tensor?, gradients: GradientStore, backend: Backend) throws
    /// The whole adapted layer: by default the layer's own product, then `forward(_:addingTo:backend:)`.
    /// An adapter that changes the product itself (IA³ scales its input or output) implements this instead.
    func forward(_ x: Tensor, through linear: Linear, into out: Tensor, backend: Backend) throws
    /// The whole adapted layer's backward: by default the layer's own, then `backward(_:input:addingTo:gradients:backend:)`.
    func backward(_ dOut: Tensor, input x: Tensor, through linear: Linear, dx: Tensor?, accumulate: Bool,
                  gradients: GradientStore, backend: Backend) throws
}

extension LinearAdapter {
    public func forward(_ x: Tensor, through linear: Linear, into out: Tensor, backend: Backend) throws {
        try linear.baseForward(x, into: out, backend: backend)
        try forward(x, addingTo: out, backend: backend)
    }

    public func backward(_ dOut: Tensor, input x: Tensor, through linear: Linear, dx: Tensor?, accumulate: Bool,
                         gradients: GradientStore, backend: Backend) throws {
        try linear.baseBackward(dOut, input: x, dx: dx, accumulate: accumulate, gradients: gradients, backend: backend)
        try backward(dOut, input: x, addingTo: dx, gradients: gradients, backend: backend)
    }
}
