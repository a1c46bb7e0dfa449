import TailorFormats
import TailorModels
import TailorTensor

/// IA³ on one Linear, as peft 0.21's `ia3.Linear` computes it: a learned vector l that rescales
/// the layer itself rather than adding beside it.
///
/// Legend: x [N, in] the layer input, W [out, in] the frozen weight, b [out] its bias (if any),
/// g = dOut [N, out].
///
///     output scaling (not feed-forward), l [out, 1]:  y = (x·Wᵀ + b) ⊙ l
///         dz = g ⊙ l  (through the layer's own backward: dx, and dW / db when they train)
///         dl[o] += Σₙ g[n, o] · (x·Wᵀ + b)[n, o]      (the product recomputed, one GEMM)
///     input scaling (feed-forward), l [1, in]:        y = (x ⊙ l)·Wᵀ + b
///         G = g·W [N, in];  dx (+)= G ⊙ l;  dl[i] += Σₙ G[n, i] · x[n, i]
///
/// The products run on the backend; the per-column scaling and sums run on the host over the
/// [N, out] or [N, in] values, as DoRA's per-row parts do.
public final class IA3: LinearAdapter, @unchecked Sendable {
    /// l: [out, 1] for output scaling, [1, in] for a feed-forward module (peft's shapes), f32.
    public let vector: Tensor
    /// Whether the module scales its input (peft's `is_feedforward`).
    public let isFeedforward: Bool
    /// Hugging Face name of l (module name + ".ia3_l").
    public let name: String

    /// - Parameters:
    ///   - module: the Linear's module name, e.g. "model.layers.0.self_attn.k_proj".
    ///   - vector: l, shaped [out, 1] or (feed-forward) [1, in].
    public init(module: String, vector: Tensor, isFeedforward: Bool) {
        self.vector = vector
        self.isFeedforward = isFeedforward
        self.name = module + PeftAdapterLayout.ia3Suffix
    }

    /// The module's name ("model.layers.0.self_attn.k_proj").
    public var moduleName: String { String(name.dropLast(PeftAdapterLayout.ia3Suffix.count)) }

    /// IA³ is not a side path: the Linear runs it through `forward(_:through:into:backend:)`.
    public func forward(_ x: Tensor, addingTo out: Tensor, backend: Backend) throws {
        throw AdapterError.badOption(name: "peft_type", problem: "IA3 on \(moduleName) rescales its Linear and cannot be added beside another adapter's path")
    }

    /// See `forward(_:addingTo:backend:)`.
    public func backward(_ dOut: Tensor, input x: Tensor, addingTo dx: Tensor?, gradients: GradientStore, backend: Backend) throws {
        throw AdapterError.badOption(name: "peft_type", problem: "IA3 on \(moduleName) rescales its Linear and cannot be added beside another adapter's path")
    }

    public func forward(_ x: Tensor, through linear: Linear, into out: Tensor, backend: Backend) throws {
        let l = try backend.download(vector)
        if isFeedforward {
            // out[N, out] = (x ⊙ l)·Wᵀ + b
            try linear.baseForward(try Self.scaledColumns(x, by: l, backend: backend), into: out, backend: backend)
        } else {
            // out[N, out] = (x·Wᵀ + b) ⊙ l
            try linear.baseForward(x, into: out, backend: backend)
            try backend.copy(try Self.scaledColumns(out, by: l, backend: backend), into: out)
        }
    }

    public func backward(_ dOut: Tensor, input x: Tensor, through linear: Linear, dx: Tensor?, accumulate: Bool,
                         gradients: GradientStore, backend: Backend) throws {
        let l = try backend.download(vector)
        let dL = gradients[name]
        if isFeedforward {
            // The layer's own parameters (when they train) see the scaled input.
            if gradients[linear.name] != nil || (linear.bias != nil && gradients[linear.biasName] != nil) {
                try linear.baseBackward(dOut, input: try Self.scaledColumns(x, by: l, backend: backend), dx: nil, accumulate: false,
                                        gradients: gradients, backend: backend)
            }
            guard dx != nil || dL != nil else { return }
            let g = try backend.empty([x.rowCount, x.rowLength], dtype: .f32)  // [N, in] = dOut · W
            try backend.gemm(dOut, transposeA: false, linear.weight, transposeB: false, into: g, alpha: 1, beta: 0)
            if let dx {
                // dx[N, in] (+)= G ⊙ l
                let through = try Self.scaledColumns(g, by: l, backend: backend)
                if accumulate { try backend.axpy(1, through, dx) } else { try backend.copy(through, into: dx) }
            }
            if let dL {
                // dl[1, in] += Σₙ G ⊙ x
                try backend.axpy(1, try Self.columnSums(g, times: x, shape: vector.shape, backend: backend), dL)
            }
        } else {
            // dz[N, out] = dOut ⊙ l, through the layer's own backward
            try linear.baseBackward(try Self.scaledColumns(dOut, by: l, backend: backend), input: x, dx: dx, accumulate: accumulate,
                                    gradients: gradients, backend: backend)
            if let dL {
                let z = try backend.empty([x.rowCount, linear.outFeatures], dtype: .f32)  // [N, out] = x·Wᵀ + b, recomputed
                try linear.baseForward(x, into: z, backend: backend)
                // dl[out, 1] += Σₙ dOut ⊙ z
                try backend.axpy(1, try Self.columnSums(dOut, times: z, shape: vector.shape, backend: backend), dL)
            }
        }
    }

    /// t[N, C] ⊙ v[C] (each column c times v[c]) as a new f32 tensor [N, C].
    static func scaledColumns(_ t: Tensor, by v: [Float], backend: Backend) throws -> Tensor {
        var values = try backend.download(t)
        let columns = v.count
        for start in stride(from: 0, to: values.count, by: columns) {
            for c in 0..<columns { values[start + c] *= v[c] }
        }
        return try backend.upload(values, shape: [values.count / max(columns, 1), columns], dtype: .f32)
    }

    /// Σₙ a[n, c] · b[n, c] for each column c (accumulated in Double), as an f32 tensor of `shape`.
    static func columnSums(_ a: Tensor, times b: Tensor, shape: [Int], backend: Backend) throws -> Tensor {
        let (av, bv) = (try backend.download(a), try backend.download(b))
        let columns = a.rowLength
        var sums = [Double](repeating: 0, count: columns)
        for start in stride(from: 0, to: av.count, by: columns) {
            for c in 0..<columns { sums[c] += Double(av[start + c]) * Double(bv[start + c]) }
        }
        return try backend.upload(sums.map { Float($0) }, shape: shape, dtype: .f32)
    }
}
