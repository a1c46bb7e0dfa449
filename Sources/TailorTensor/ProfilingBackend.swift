/// A Backend that forwards every call to another one and records the wall time spent in each
/// kind of operation (for `tailor bench ... --profile`). Timing is per call on the host, so on
/// an asynchronous backend it measures launch time unless the backend synchronises.
public final class ProfilingBackend: Backend, @unchecked Sendable {
    public let base: Backend
    public var name: String { base.name + "+profile" }
    public var batchInvariant: Bool { base.batchInvariant }
    /// Seconds and call counts per operation name.
    public private(set) var totals: [String: (seconds: Double, calls: Int)] = [:]

    public init(_ base: Backend) { self.base = base }

    /// Forgets what was recorded.
    public func reset() { totals = [:] }

    /// Recorded operations, the slowest first.
    public var report: [(op: String, seconds: Double, calls: Int)] {
        totals.map { ($0.key, $0.value.seconds, $0.value.calls) }.sorted { $0.seconds > $1.seconds }
    }

    @inline(__always)
    private func timed<R>(_ op: String, _ body: () throws -> R) rethrows -> R {
        let start = monotonicSeconds()
        let result = try body()
        let entry = totals[op] ?? (0, 0)
        totals[op] = (entry.seconds + monotonicSeconds() - start, entry.calls + 1)
        return result
    }

    public func empty(_ shape: [Int], dtype: DType) throws -> Tensor { try timed("empty") { try base.empty(shape, dtype: dtype) } }
    public func zeros(_ shape: [Int], dtype: DType) throws -> Tensor { try timed("zeros") { try base.zeros(shape, dtype: dtype) } }
    public func upload(_ values: [Float], shape: [Int], dtype: DType) throws -> Tensor {
        try timed("upload") { try base.upload(values, shape: shape, dtype: dtype) }
    }
    public func upload(_ values: [Int32], shape: [Int]) throws -> Tensor { try timed("upload") { try base.upload(values, shape: shape) } }
    public func upload(bytes: UnsafeRawBufferPointer, shape: [Int], dtype: DType, owner: AnyObject?) throws -> Tensor {
        try timed("upload") { try base.upload(bytes: bytes, shape: shape, dtype: dtype, owner: owner) }
    }
    public func upload(fourBit blocks: FourBitBlocks, shape: [Int]) throws -> Tensor {
        try timed("upload") { try base.upload(fourBit: blocks, shape: shape) }
    }
    public func download(_ tensor: Tensor) throws -> [Float] { try timed("download") { try base.download(tensor) } }
    public func downloadInt32(_ tensor: Tensor) throws -> [Int32] { try timed("download") { try base.downloadInt32(tensor) } }
    public func withBytes(of tensor: Tensor, _ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        try timed("download") { try base.withBytes(of: tensor, body) }
    }
    public func fill(_ tensor: Tensor, value: Float) throws { try timed("fill") { try base.fill(tensor, value: value) } }
    public func copy(_ source: Tensor, into destination: Tensor) throws { try timed("copy") { try base.copy(source, into: destination) } }
    public func add(_ a: Tensor, _ b: Tensor, into out: Tensor) throws { try timed("add") { try base.add(a, b, into: out) } }
    public func axpy(_ alpha: Float, _ x: Tensor, _ y: Tensor) throws { try timed("axpy") { try base.axpy(alpha, x, y) } }
    public func scale(_ x: Tensor, by factor: Float) throws { try timed("scale") { try base.scale(x, by: factor) } }
    public func sumOfSquares(_ x: Tensor) throws -> Double { try timed("sumOfSquares") { try base.sumOfSquares(x) } }
    public func sumOfSquares(_ tensors: [Tensor]) throws -> Double { try timed("sumOfSquares") { try base.sumOfSquares(tensors) } }
    public func gatherRows(_ source: Tensor, indices: Tensor, into out: Tensor) throws {
        try timed("gatherRows") { try base.gatherRows(source, indices: indices, into: out) }
    }
    public func scatterAddRows(_ source: Tensor, indices: Tensor, into out: Tensor) throws {
        try timed("scatterAddRows") { try base.scatterAddRows(source, indices: indices, into: out) }
    }
    public func gemm(_ a: Tensor, transposeA: Bool, _ b: Tensor, transposeB: Bool, into c: Tensor, alpha: Float, beta: Float) throws {
        let label = "gemm " + (transposeA ? "T" : "N") + (transposeB ? "T" : "N")
        try timed(label) { try base.gemm(a, transposeA: transposeA, b, transposeB: transposeB, into: c, alpha: alpha, beta: beta) }
    }
    public func gemmBatched(_ a: Tensor, transposeA: Bool, _ b: Tensor, transposeB: Bool, into c: Tensor, alpha: Float, beta: Float) throws {
        try timed("gemmBatched") { try base.gemmBatched(a, transposeA: transposeA, b, transposeB: transposeB, into: c, alpha: alpha, beta: beta) }
    }
    public func addBias(_ x: Tensor, bias: Tensor) throws { try timed("addBias") { try base.addBias(x, bias: bias) } }
    public func biasBackward(_ dOut: Tensor, dBias: Tensor) throws { try timed("biasBackward") { try base.biasBackward(dOut, dBias: dBias) } }
    public func embeddingForward(ids: Tensor, table: Tensor, into out: Tensor) throws {
        try timed("embeddingForward") { try base.embeddingForward(ids: ids, table: table, into: out) }
    }
    public func embeddingBackward(ids: Tensor, dOut: Tensor, dTable: Tensor) throws {
        try timed("embeddingBackward") { try base.embeddingBackward(ids: ids, dOut: dOut, dTable: dTable) }
    }
    public func rmsNormForward(_ x: Tensor, weight: Tensor, eps: Float, into out: Tensor, rstd: Tensor) throws {
        try timed("rmsNormForward") { try base.rmsNormForward(x, weight: weight, eps: eps, into: out, rstd: rstd) }
    }
    public func addRMSNormForward(_ a: Tensor, _ b: Tensor, weight: Tensor, eps: Float, sum: Tensor, into out: Tensor,
                                  rstd: Tensor) throws {
        try timed("addRMSNormForward") { try base.addRMSNormForward(a, b, weight: weight, eps: eps, sum: sum, into: out, rstd: rstd) }
    }
    public func rmsNormBackward(_ dOut: Tensor, x: Tensor, weight: Tensor, rstd: Tensor, dx: Tensor, accumulate: Bool, dWeight: Tensor?) throws {
        try timed("rmsNormBackward") {
            try base.rmsNormBackward(dOut, x: x, weight: weight, rstd: rstd, dx: dx, accumulate: accumulate, dWeight: dWeight)
        }
    }
    public func rope(_ x: Tensor, positions: Tensor, cos: Tensor, sin: Tensor, inverse: Bool) throws {
        try timed("rope") { try base.rope(x, positions: positions, cos: cos, sin: sin, inverse: inverse) }
    }
    public func attentionForward(q: Tensor, k: Tensor, v: Tensor, seqStart: Tensor, scale: Float, into out: Tensor, lse: Tensor) throws {
        try timed("attentionForward") { try base.attentionForward(q: q, k: k, v: v, seqStart: seqStart, scale: scale, into: out, lse: lse) }
    }
    public func attentionBackward(dOut: Tensor, q: Tensor, k: Tensor, v: Tensor, out: Tensor, lse: Tensor, seqStart: Tensor,
                                  scale: Float, dq: Tensor, dk: Tensor, dv: Tensor) throws {
        try timed("attentionBackward") {
            try base.attentionBackward(dOut: dOut, q: q, k: k, v: v, out: out, lse: lse, seqStart: seqStart, scale: scale, dq: dq, dk: dk, dv: dv)
        }
    }
    public func swigluForward(gate: Tensor, up: Tensor, into out: Tensor) throws {
        try timed("swigluForward") { try base.swigluForward(gate: gate, up: up, into: out) }
    }
    public func swigluBackward(_ dOut: Tensor, gate: Tensor, up: Tensor, dGate: Tensor, dUp: Tensor) throws {
        try timed("swigluBackward") { try base.swigluBackward(dOut, gate: gate, up: up, dGate: dGate, dUp: dUp) }
    }
    public func dropout(_ x: Tensor, into out: Tensor, probability: Float, seed: UInt64) throws {
        try timed("dropout") { try base.dropout(x, into: out, probability: probability, seed: seed) }
    }
    public func crossEntropy(logits: Tensor, targets: Tensor, losses: Tensor, gradScale: Float) throws {
        try timed("crossEntropy") { try base.crossEntropy(logits: logits, targets: targets, losses: losses, gradScale: gradScale) }
    }
    public func adamw(param: Tensor, grad: Tensor, m: Tensor, v: Tensor, hyper: AdamWHyper, step: Int) throws {
        try timed("adamw") { try base.adamw(param: param, grad: grad, m: m, v: v, hyper: hyper, step: step) }
    }
    public func adamw(_ parameters: [AdamWTensors], hyper: AdamWHyper, step: Int) throws {
        try timed("adamw") { try base.adamw(parameters, hyper: hyper, step: step) }
    }
    public func bnbAdamW(_ parameters: [BnbAdamWTensors], hyper: AdamWHyper, step: Int) throws {
        try timed("bnbAdamW") { try base.bnbAdamW(parameters, hyper: hyper, step: step) }
    }
    public func sgd(param: Tensor, grad: Tensor, momentumBuffer: Tensor?, hyper: SGDHyper, initializeBuffer: Bool) throws {
        try timed("sgd") {
            try base.sgd(param: param, grad: grad, momentumBuffer: momentumBuffer, hyper: hyper, initializeBuffer: initializeBuffer)
        }
    }

    public func attentionDecode(q: Tensor, kCache: Tensor, vCache: Tensor, slots: Tensor, lengths: Tensor,
                                scale: Float, into out: Tensor) throws {
        try timed("attentionDecode") {
            try base.attentionDecode(q: q, kCache: kCache, vCache: vCache, slots: slots, lengths: lengths, scale: scale, into: out)
        }
    }
}
