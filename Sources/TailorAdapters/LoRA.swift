import TailorFormats
import TailorModels
import TailorTensor

/// A LoRA side path on one Linear, exactly as peft defines it:
///   y += scaling · B(A(x)),  A [r, in], B [out, r],  scaling = lora_alpha / r (or / √r with rsLoRA).
/// A and B are trainable f32 tensors; the base weight stays frozen.
///
/// With a `magnitude` (peft's `use_dora`) the module is DoRA's instead (LoRA+DoRA.swift):
///   y = m / ‖W + scaling·B·A‖_row ⊙ (x·(W + scaling·B·A)ᵀ) + b, the norm held constant in the backward.
public final class LoRA: LinearAdapter, @unchecked Sendable {
    /// [r, in]
    public let a: Tensor
    /// [out, r]
    public let b: Tensor
    public let rank: Int
    public let scaling: Float
    /// Hugging Face names of A and B (module name + ".lora_A.weight" / ".lora_B.weight").
    public let aName: String
    public let bName: String
    /// DoRA's magnitude vector [out] (trainable f32), nil for plain LoRA.
    public let magnitude: Tensor?
    /// Hugging Face name of the magnitude (module name + ".lora_magnitude_vector", peft's key without `.weight`).
    public let magnitudeName: String
    /// The adapted Linear's frozen weight [out, in] (any stored dtype), which DoRA reads; set by
    /// `LoRAAdapters.attach(to:)`.
    public internal(set) var baseWeight: Tensor?
    /// When true, DoRA computes its weight (W + scaling·B·A scaled by m / norm) once and reuses it
    /// until this is set again: for generation, where A, B and m do not change. Training leaves it false.
    public var reusesDoRAWeight = false {
        didSet { doraCache = nil }
    }
    /// The reused DoRA weight difference [out, in] (see `reusesDoRAWeight`).
    var doraCache: Tensor?
    /// lora_dropout: applied to the input of A while `dropoutSeed` is set (training).
    public let dropout: Float
    /// The mask of the current micro-batch (nil: no dropout, as at inference). The same seed
    /// gives the same mask in the forward, a recomputed forward and the backward.
    public var dropoutSeed: UInt64?
    /// Scratch shared with the other modules of the adapter set.
    public let workspace: LoRAWorkspace
    /// x · Aᵀ of the last forward [capacity, r], its first `savedRows` rows valid: the backward's
    /// `down` (kept, not recomputed; with gradient checkpointing the recomputed forward refills it).
    private var saved: Tensor?
    private var savedRows = 0
    private var savedSeed: UInt64?
    /// The input the saved rows were computed from (its storage and offset).
    private var savedInput: (storage: ObjectIdentifier, offset: Int)?

    /// - Parameters:
    ///   - module: the Linear's module name, e.g. "model.layers.0.self_attn.q_proj".
    ///   - workspace: scratch shared by the modules of one adapter set.
    ///   - magnitude: DoRA's magnitude vector [out], or nil for plain LoRA.
    public init(module: String, a: Tensor, b: Tensor, scaling: Float, dropout: Float = 0, magnitude: Tensor? = nil,
                workspace: LoRAWorkspace = LoRAWorkspace()) {
        self.a = a
        self.b = b
        self.magnitude = magnitude
        self.magnitudeName = module + PeftAdapterLayout.magnitudeSuffix
        self.rank = a.shape[0]
        self.scaling = scaling
        self.dropout = dropout
        self.workspace = workspace
        self.aName = module + PeftAdapterLayout.loraASuffix
        self.bName = module + PeftAdapterLayout.loraBSuffix
    }

    /// Bytes this module keeps between a forward and its backward ([N, r] x · Aᵀ).
    public var savedByteCount: Int { saved?.byteCount ?? 0 }

    /// x with dropout applied when active (in the workspace), else x itself. [N, in]
    func droppedInput(_ x: Tensor, backend: Backend) throws -> Tensor {
        guard dropout > 0, let seed = dropoutSeed else { return x }
        let dropped = try workspace.matrix(.droppedInput, rows: x.rowCount, columns: x.rowLength, backend: backend)
        try backend.dropout(x, into: dropped, probability: dropout, seed: seed)
        return dropped
    }

    /// Rows 0..<n of this module's saved [capacity, r] buffer, grown when n exceeds it.
    func savedDown(rows n: Int, backend: Backend) throws -> Tensor {
        if let saved, saved.rowCount >= n { return saved.rows(0..<n) }
        let buffer = try backend.empty([n, rank], dtype: .f32)
        saved = buffer
        return buffer
    }

    public func forward(_ input: Tensor, addingTo out: Tensor, backend: Backend) throws {
        if magnitude != nil { return try doraForward(input, addingTo: out, backend: backend) }
        let x = try droppedInput(input, backend: backend)
        let n = x.rowCount
        let down = try savedDown(rows: n, backend: backend)  // [N, r] = x · Aᵀ, kept for the backward
        try backend.gemm(x, transposeA: false, a, transposeB: true, into: down, alpha: 1, beta: 0)
        (savedRows, savedSeed, savedInput) = (n, dropoutSeed, (ObjectIdentifier(input.storage), input.byteOffset))
        // out[N, out] += scaling · down · Bᵀ
        try backend.gemm(down, transposeA: false, b, transposeB: true, into: out, alpha: scaling, beta: 1)
    }

    public func backward(_ dOut: Tensor, input: Tensor, addingTo dx: Tensor?, gradients: GradientStore,
                         backend: Backend) throws {
        if magnitude != nil { return try doraBackward(dOut, input: input, addingTo: dx, gradients: gradients, backend: backend) }
        let n = input.rowCount
        let dDown = try workspace.matrix(.dDown, rows: n, columns: rank, backend: backend)  // [N, r] = dOut · B
        try backend.gemm(dOut, transposeA: false, b, transposeB: false, into: dDown, alpha: 1, beta: 0)
        if let dx {
            if dropout > 0, let seed = dropoutSeed {
                // dx[N, in] += dropout(scaling · dDown · A), the same mask as the forward's
                let through = try workspace.matrix(.throughDropout, rows: n, columns: dx.rowLength, backend: backend)
                try backend.gemm(dDown, transposeA: false, a, transposeB: false, into: through, alpha: scaling, beta: 0)
                try backend.dropout(through, into: through, probability: dropout, seed: seed)
                try backend.axpy(1, through, dx)
            } else {
                // dx[N, in] += scaling · dDown · A
                try backend.gemm(dDown, transposeA: false, a, transposeB: false, into: dx, alpha: scaling, beta: 1)
            }
        }
        // dropout(x) [N, in], the mask recomputed from the seed: made once, when first needed.
        var dropped: Tensor?
        func x() throws -> Tensor {
            if let dropped { return dropped }
            let made = try droppedInput(input, backend: backend)
            dropped = made
            return made
        }
        if let dA = gradients[aName] {
            // dA[r, in] += scaling · dDownᵀ · dropout(x)
            try backend.gemm(dDown, transposeA: true, try x(), transposeB: false, into: dA, alpha: scaling, beta: 1)
        }
        if let dB = gradients[bName] {
            // down[N, r] = dropout(x) · Aᵀ: the forward's, unless this backward follows another forward
            let down: Tensor
            if let saved, savedRows == n, savedSeed == dropoutSeed,
               savedInput.map({ $0.storage == ObjectIdentifier(input.storage) && $0.offset == input.byteOffset }) == true {
                down = saved.rows(0..<n)
            } else {
                down = try savedDown(rows: n, backend: backend)
                try backend.gemm(try x(), transposeA: false, a, transposeB: true, into: down, alpha: 1, beta: 0)
            }
            // dB[out, r] += scaling · dOutᵀ · down
            try backend.gemm(dOut, transposeA: true, down, transposeB: false, into: dB, alpha: scaling, beta: 1)
        }
    }
}
