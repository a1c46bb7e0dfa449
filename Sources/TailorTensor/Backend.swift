/// The compute interface every device implements. Model code calls only this protocol, so the
/// same model runs on every backend.
///
/// Conventions shared by all kernels:
/// - Tensors are contiguous row-major views; a tensor of rank > 2 is read as a matrix
///   `[product of leading dims, last dim]` where a kernel says "matrix".
/// - Activations, gradients and trainable parameters are `f32`. Frozen weights passed as the
///   `weight`/`table`/`b` operand may also be `bf16` or `f16`; they are widened inside the kernel.
/// - Index tensors (`ids`, `positions`, `seqStart`, `targets`, `indices`) are `i32`.
/// - Backward kernels *write* input gradients unless a parameter says `accumulate`, and always
///   *accumulate* (`+=`) into parameter gradients, so gradient accumulation and tied weights work.
/// - Kernels may run asynchronously; `download` and `sumOfSquares` synchronise.
public protocol Backend: AnyObject, Sendable {
    /// A short name for messages ("cpu", "cpu-reference", "cuda:0").
    var name: String { get }
    /// Whether each row's results are independent of the other rows of a call, bit for bit (every
    /// product and attention row summed alike whatever the row count). Decoding then reads the KV
    /// cache for fresh prompts too, so a request batched, chunked or with a reused prefix gets the
    /// numbers it gets alone. Default false.
    var batchInvariant: Bool { get }

    // MARK: Memory

    /// A new tensor with undefined contents.
    func empty(_ shape: [Int], dtype: DType) throws -> Tensor
    /// A new tensor filled with zeros.
    func zeros(_ shape: [Int], dtype: DType) throws -> Tensor
    /// A new tensor holding `values`, narrowed to `dtype` (round to nearest even for bf16/f16).
    func upload(_ values: [Float], shape: [Int], dtype: DType) throws -> Tensor
    /// A new `i32` tensor holding `values`.
    func upload(_ values: [Int32], shape: [Int]) throws -> Tensor
    /// A tensor holding raw little-endian `bytes` of `dtype`. A backend that can address host
    /// memory may alias the bytes instead of copying them; it then keeps `owner` alive.
    func upload(bytes: UnsafeRawBufferPointer, shape: [Int], dtype: DType, owner: AnyObject?) throws -> Tensor
    /// A frozen weight in a bitsandbytes 4-bit format (dtype `nf4` / `fp4`, `shape` of `blocks.count`
    /// elements): its packed codes and scales as they are, never widened into a full copy. Kernels read
    /// it as a GEMM's `b` operand, dequantizing on the fly.
    func upload(fourBit blocks: FourBitBlocks, shape: [Int]) throws -> Tensor
    /// The values of a floating-point tensor, widened to `Float` (a 4-bit tensor's dequantized values).
    func download(_ tensor: Tensor) throws -> [Float]
    /// The values of an `i32` tensor.
    func downloadInt32(_ tensor: Tensor) throws -> [Int32]
    /// Calls `body` with `tensor`'s raw little-endian bytes in its own dtype (`tensor.byteCount` of
    /// them, nothing converted): a view of its memory where the host can address it, otherwise a host
    /// copy of this one tensor, freed when `body` returns. The buffer is valid only inside `body`.
    func withBytes(of tensor: Tensor, _ body: (UnsafeRawBufferPointer) throws -> Void) throws

    // MARK: Elementwise and reductions

    /// Sets every element to `value`.
    func fill(_ tensor: Tensor, value: Float) throws
    /// Copies `source` into `destination` (same element count), converting the dtype if they differ.
    func copy(_ source: Tensor, into destination: Tensor) throws
    /// out = a + b (same shapes; `out` may be `a` or `b`).
    func add(_ a: Tensor, _ b: Tensor, into out: Tensor) throws
    /// y += alpha * x.
    func axpy(_ alpha: Float, _ x: Tensor, _ y: Tensor) throws
    /// x *= factor.
    func scale(_ x: Tensor, by factor: Float) throws
    /// Σ x², accumulated in double precision (for global gradient norms).
    func sumOfSquares(_ x: Tensor) throws -> Double
    /// Σ over `tensors` of Σ x², in double precision, with one synchronisation for all of them
    /// (the global gradient norm of a whole model).
    func sumOfSquares(_ tensors: [Tensor]) throws -> Double
    /// out[i, :] = source[indices[i], :]. source matrix [R, C], indices [n], out [n, C].
    func gatherRows(_ source: Tensor, indices: Tensor, into out: Tensor) throws
    /// out[indices[i], :] += source[i, :]. source [n, C], indices [n], out matrix [R, C].
    func scatterAddRows(_ source: Tensor, indices: Tensor, into out: Tensor) throws

    // MARK: Matrix products

    /// c = alpha * op(a) · op(b) + beta * c, where op transposes when asked.
    /// a matrix [M, K] (or [K, M] transposed), b matrix [K, N] (or [N, K] transposed), c [M, N].
    /// `a` and `c` are f32; `b` may be f32, bf16, f16, nf4 or fp4 (a frozen weight).
    func gemm(_ a: Tensor, transposeA: Bool, _ b: Tensor, transposeB: Bool, into c: Tensor,
              alpha: Float, beta: Float) throws
    /// A batch of products: for each i, c[i] = alpha · op(a[i]) · op(b[i]) + beta · c[i].
    /// a [batch, M, K] (or [batch, K, M] transposed), c [batch, M, N]; b [batch, K, N] (or
    /// [batch, N, K] transposed), or a single [K, N] / [N, K] matrix shared by every item
    /// (stride 0). Items are contiguous in each operand (stride = one matrix).
    func gemmBatched(_ a: Tensor, transposeA: Bool, _ b: Tensor, transposeB: Bool, into c: Tensor,
                     alpha: Float, beta: Float) throws
    /// x[n, :] += bias. x matrix [N, C], bias [C].
    func addBias(_ x: Tensor, bias: Tensor) throws
    /// dBias += Σ_n dOut[n, :]. dOut matrix [N, C], dBias [C].
    func biasBackward(_ dOut: Tensor, dBias: Tensor) throws

    // MARK: Layers

    /// out[n, :] = table[ids[n], :]. ids [N], table [V, C], out [N, C]. An id outside [0, V)
    /// is an error naming it.
    func embeddingForward(ids: Tensor, table: Tensor, into out: Tensor) throws
    /// dTable[ids[n], :] += dOut[n, :]. ids [N], dOut [N, C], dTable [V, C] (f32).
    func embeddingBackward(ids: Tensor, dOut: Tensor, dTable: Tensor) throws

    /// out = x * rsqrt(mean(x²) + eps) * weight, row-wise. x, out matrix [N, C]; weight [C];
    /// rstd [N] receives each row's rsqrt(mean(x²) + eps) for the backward.
    func rmsNormForward(_ x: Tensor, weight: Tensor, eps: Float, into out: Tensor, rstd: Tensor) throws
    /// The residual add before a pre-norm block, fused with the norm: sum = a + b, then
    /// out = rmsNorm(sum) exactly as `rmsNormForward(sum, ...)`. a, b, sum, out matrix [N, C]
    /// (`sum` may be `a` or `b`; `out` overlaps none of them); weight [C]; rstd [N].
    /// The backward is `rmsNormBackward` of `sum` with `accumulate` into the residual gradient.
    func addRMSNormForward(_ a: Tensor, _ b: Tensor, weight: Tensor, eps: Float, sum: Tensor, into out: Tensor,
                           rstd: Tensor) throws
    /// Gradient of rmsNormForward. dOut, x, dx [N, C]; weight [C]; rstd [N].
    /// dx is overwritten, or added to when `accumulate`. dWeight [C], when given, is accumulated.
    func rmsNormBackward(_ dOut: Tensor, x: Tensor, weight: Tensor, rstd: Tensor,
                         dx: Tensor, accumulate: Bool, dWeight: Tensor?) throws

    /// Rotary embedding in place, Hugging Face's rotate-half layout:
    /// (x1, x2) -> (x1·cos − x2·sin, x2·cos + x1·sin) with x1 = x[..., :D/2], x2 = x[..., D/2:].
    /// `inverse` rotates by −θ (the backward). x [N, H, D]; positions [N]; cos, sin [P, D/2].
    func rope(_ x: Tensor, positions: Tensor, cos: Tensor, sin: Tensor, inverse: Bool) throws

    /// Causal self-attention over packed sequences with grouped-query heads.
    /// Token n attends to tokens j with seqStart[n] <= j <= n (its own sequence, up to itself).
    /// q [N, Hq, D]; k, v [N, Hkv, D] (Hq a multiple of Hkv); seqStart [N];
    /// out [N, Hq, D]; lse [N, Hq] receives each row's log-sum-exp of the scaled scores.
    func attentionForward(q: Tensor, k: Tensor, v: Tensor, seqStart: Tensor, scale: Float,
                          into out: Tensor, lse: Tensor) throws
    /// Gradient of attentionForward. dq [N, Hq, D], dk and dv [N, Hkv, D] are overwritten.
    func attentionBackward(dOut: Tensor, q: Tensor, k: Tensor, v: Tensor, out: Tensor, lse: Tensor,
                           seqStart: Tensor, scale: Float, dq: Tensor, dk: Tensor, dv: Tensor) throws

    /// Attention of new query rows over a key/value cache (decoding with a KV cache).
    /// Query row n attends to positions 0..<lengths[n] of cache slot slots[n], with grouped-query heads.
    /// q [N, Hq, D]; kCache, vCache [S, L, Hkv, D] (Hq a multiple of Hkv); slots, lengths [N] i32
    /// with 0 <= slots[n] < S and 1 <= lengths[n] <= L; out [N, Hq, D].
    func attentionDecode(q: Tensor, kCache: Tensor, vCache: Tensor, slots: Tensor, lengths: Tensor,
                         scale: Float, into out: Tensor) throws

    /// out = silu(gate) * up. gate, up, out [N, I]; gate and up may be stored as bf16 or f16
    /// (saved activations, `CausalLM.savedActivationDType`), read widened; out is f32.
    func swigluForward(gate: Tensor, up: Tensor, into out: Tensor) throws
    /// Gradient of swigluForward; dGate and dUp [N, I] (f32) are overwritten (they may alias
    /// gate/up when those are f32).
    func swigluBackward(_ dOut: Tensor, gate: Tensor, up: Tensor, dGate: Tensor, dUp: Tensor) throws

    /// Inverted dropout: out[i] = x[i] · keep(i) / (1 − probability), where keep(i) is a
    /// Bernoulli(1 − probability) draw that depends only on (seed, i). The same seed gives the same
    /// mask, so applying it to a gradient is the backward. x, out: same element count (may alias).
    func dropout(_ x: Tensor, into out: Tensor, probability: Float, seed: UInt64) throws

    /// Softmax cross-entropy of each row of `logits` [n, V] against `targets` [n]
    /// (-100 = ignored: loss 0, gradient 0). Writes each row's loss to `losses` [n] and replaces
    /// the logits with `gradScale * (softmax − onehot)`, the gradient of gradScale · Σ losses.
    func crossEntropy(logits: Tensor, targets: Tensor, losses: Tensor, gradScale: Float) throws

    /// One AdamW step with torch.optim.AdamW semantics (decoupled weight decay, bias correction),
    /// over same-shaped f32 tensors param, grad, m (exp_avg), v (exp_avg_sq). `step` counts from 1.
    func adamw(param: Tensor, grad: Tensor, m: Tensor, v: Tensor, hyper: AdamWHyper, step: Int) throws
    /// `adamw` over many parameters at once, as torch's fused AdamW steps a whole parameter group
    /// (a GPU makes it one launch). `hyper.weightDecay` applies to the parameters whose
    /// `decays` is true; the others take the step with weight decay 0.
    func adamw(_ parameters: [AdamWTensors], hyper: AdamWHyper, step: Int) throws
    /// One step of bitsandbytes' AdamW as its CPU kernels compute it (bitsandbytes 0.50): 8-bit states
    /// dequantized, updated and quantized again blockwise, or its own 32-bit update (`BnbAdamWTensors`).
    /// `hyper.weightDecay` applies to the parameters whose `decays` is true. `step` counts from 1.
    func bnbAdamW(_ parameters: [BnbAdamWTensors], hyper: AdamWHyper, step: Int) throws

    /// One SGD step with torch.optim.SGD semantics (coupled weight decay, momentum with dampening,
    /// optional Nesterov) over same-shaped f32 tensors param and grad. `momentumBuffer` (same shape)
    /// is nil when momentum is 0; with `initializeBuffer` it is overwritten with the decayed gradient,
    /// as torch creates the buffer on a parameter's first step. `grad` is not modified.
    func sgd(param: Tensor, grad: Tensor, momentumBuffer: Tensor?, hyper: SGDHyper, initializeBuffer: Bool) throws
}

/// AdamW hyperparameters, named as in torch.optim.AdamW. Doubles, like the Python floats torch
/// computes its step scalars from, so the f32 arithmetic sees the same rounded constants.
public struct AdamWHyper: Sendable, Equatable {
    public var lr: Double
    public var beta1: Double
    public var beta2: Double
    public var eps: Double
    public var weightDecay: Double

    public init(lr: Double, beta1: Double = 0.9, beta2: Double = 0.999, eps: Double = 1e-8, weightDecay: Double = 0) {
        self.lr = lr
        self.beta1 = beta1
        self.beta2 = beta2
        self.eps = eps
        self.weightDecay = weightDecay
    }
}

/// One parameter's tensors in a multi-tensor AdamW step: same-shaped f32 param, grad,
/// m (exp_avg) and v (exp_avg_sq), and whether weight decay applies to it.
public struct AdamWTensors: Sendable {
    public var param: Tensor
    public var grad: Tensor
    public var m: Tensor
    public var v: Tensor
    public var decays: Bool

    public init(param: Tensor, grad: Tensor, m: Tensor, v: Tensor, decays: Bool) {
        (self.param, self.grad, self.m, self.v, self.decays) = (param, grad, m, v, decays)
    }
}

/// SGD hyperparameters, named as in torch.optim.SGD. Doubles, like the Python floats torch casts to
/// the tensors' f32 when it scales by them.
public struct SGDHyper: Sendable, Equatable {
    public var lr: Double
    public var momentum: Double
    public var dampening: Double
    public var nesterov: Bool
    public var weightDecay: Double

    public init(lr: Double, momentum: Double = 0, dampening: Double = 0, nesterov: Bool = false, weightDecay: Double = 0) {
        self.lr = lr
        self.momentum = momentum
        self.dampening = dampening
        self.nesterov = nesterov
        self.weightDecay = weightDecay
    }
}

extension Backend {
    public var batchInvariant: Bool { false }
}
