#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import TailorTensor

/// RMSNorm, rotary embedding, cross-entropy and the optimizer steps on the GPU.
extension CUDABackend {
    public func rmsNormForward(_ x: Tensor, weight: Tensor, eps: Float, into out: Tensor, rstd: Tensor) throws {
        let op = "rmsNormForward"
        let (rows, cols) = try OperandChecks.rmsNorm(x, weight: weight, out: out, rstd: rstd)
        let arguments: [KernelArgument] = [
            try f32(x, op: op, "x"), try pointer(weight, [.f32, .bf16, .f16], op: op, "weight"), .int32(Self.code(weight.dtype)),
            try f32(out, op: op, "out"), try f32(rstd, op: op, "rstd"), .int32(Int32(cols)), .float(eps),  // allowed: CUDA launch sizes and tensor counts of tensors allocated on the device, each far below 2^31; CUDA driver values widen
        ]
        guard rows > 0 else { return }
        try device.launch("tailor_rmsnorm_forward_f32", grid: LaunchSize(rows), block: LaunchSize(Self.rowBlock(cols)), sharedBytes: 0, arguments)
    }

    public func addRMSNormForward(_ a: Tensor, _ b: Tensor, weight: Tensor, eps: Float, sum: Tensor, into out: Tensor,
                                  rstd: Tensor) throws {
        let op = "addRMSNormForward"
        let (rows, cols) = try OperandChecks.addRMSNorm(a, b, weight: weight, sum: sum, out: out, rstd: rstd)
        let arguments: [KernelArgument] = [
            try f32(a, op: op, "a"), try f32(b, op: op, "b"), try f32(sum, op: op, "sum"),
            try pointer(weight, [.f32, .bf16, .f16], op: op, "weight"), .int32(Self.code(weight.dtype)),
            try f32(out, op: op, "out"), try f32(rstd, op: op, "rstd"), .int32(Int32(cols)), .float(eps),  // allowed: CUDA launch sizes and tensor counts of tensors allocated on the device, each far below 2^31; CUDA driver values widen
        ]
        guard rows > 0 else { return }
        try device.launch("tailor_add_rmsnorm_forward_f32", grid: LaunchSize(rows), block: LaunchSize(Self.rowBlock(cols)), sharedBytes: 0, arguments)
    }

    public func rmsNormBackward(_ dOut: Tensor, x: Tensor, weight: Tensor, rstd: Tensor,
                                dx: Tensor, accumulate: Bool, dWeight: Tensor?) throws {
        let op = "rmsNormBackward"
        let (rows, cols) = try OperandChecks.rmsNormBackward(dOut, x: x, weight: weight, rstd: rstd, dx: dx, dWeight: dWeight)
        let (pdy, px, pr) = (try f32(dOut, op: op, "dOut"), try f32(x, op: op, "x"), try f32(rstd, op: op, "rstd"))
        let arguments: [KernelArgument] = [
            pdy, px, try pointer(weight, [.f32, .bf16, .f16], op: op, "weight"), .int32(Self.code(weight.dtype)),
            pr, try f32(dx, op: op, "dx"), .int32(accumulate ? 1 : 0), .int32(Int32(cols)),  // allowed: CUDA launch sizes and tensor counts of tensors allocated on the device, each far below 2^31; CUDA driver values widen
        ]
        guard rows > 0 else { return }
        // dWeight first: dx may alias dOut (the CPU kernels read dOut whole before writing dx too).
        if let dWeight {
            let pdw = try f32(dWeight, op: op, "dWeight")
            try launchColumnSums("tailor_rmsnorm_weight_grad_f32", rows: rows, cols: cols) { rowsPerChunk in
                [pdy, px, pr, pdw, .int32(Int32(rows)), .int32(Int32(cols)), .int32(Int32(rowsPerChunk))]  // allowed: CUDA launch sizes and tensor counts of tensors allocated on the device, each far below 2^31; CUDA driver values widen
            }
        }
        try device.launch("tailor_rmsnorm_backward_f32", grid: LaunchSize(rows), block: LaunchSize(Self.rowBlock(cols)), sharedBytes: 0, arguments)
    }

    public func rope(_ x: Tensor, positions: Tensor, cos: Tensor, sin: Tensor, inverse: Bool) throws {
        let op = "rope"
        let (tokens, heads, headDim) = try OperandChecks.rope(x, positions: positions, cos: cos, sin: sin)
        try launchElementwise("tailor_rope_f32", count: tokens * heads * headDim / 2, [
            try f32(x, op: op, "x"), try i32(positions, op: op, "positions"), try f32(cos, op: op, "cos"), try f32(sin, op: op, "sin"),
            .int32(Int32(tokens)), .int32(Int32(heads)), .int32(Int32(headDim)), .int32(Int32(cos.shape[0])), .int32(inverse ? 1 : 0),  // allowed: CUDA launch sizes and tensor counts of tensors allocated on the device, each far below 2^31; CUDA driver values widen
            try errorArgument(op: op, Check(argument: "positions", expected: "0..<\(cos.shape[0])", shape: cos.shape)),
        ])
    }

    public func crossEntropy(logits: Tensor, targets: Tensor, losses: Tensor, gradScale: Float) throws {
        let op = "crossEntropy"
        let (rows, vocab) = OperandChecks.matrix(logits)
        try OperandChecks.requireCount(targets, rows, op: op, "targets")
        try OperandChecks.requireCount(losses, rows, op: op, "losses")
        let arguments: [KernelArgument] = [
            try f32(logits, op: op, "logits"), try i32(targets, op: op, "targets"), try f32(losses, op: op, "losses"), .float(gradScale),
            .int32(Int32(vocab)),  // allowed: CUDA launch sizes and tensor counts of tensors allocated on the device, each far below 2^31; CUDA driver values widen
            try errorArgument(op: op, Check(argument: "targets", expected: "a token id in 0..<\(vocab) or -100", shape: logits.shape)),
        ]
        guard rows > 0 else { return }
        try device.launch("tailor_cross_entropy_f32", grid: LaunchSize(rows), block: LaunchSize(Self.rowBlock(vocab)), sharedBytes: 0, arguments)
    }

    /// The multi-tensor step with one slot.
    public func adamw(param: Tensor, grad: Tensor, m: Tensor, v: Tensor, hyper: AdamWHyper, step: Int) throws {
        try adamw([AdamWTensors(param: param, grad: grad, m: m, v: v, decays: true)], hyper: hyper, step: step)
    }

    /// One launch for every parameter: a table of (param, grad, m, v, count, first block, decay)
    /// slots goes to the device with the launch, and each block of `adamwChunk` elements finds its
    /// slot there. The step's scalars are computed in double, as torch.optim.AdamW computes them
    /// (CPUReference.adamw).
    public func adamw(_ parameters: [AdamWTensors], hyper: AdamWHyper, step: Int) throws {
        let op = "adamw"
        for p in parameters { try OperandChecks.adamw(param: p.param, grad: p.grad, m: p.m, v: p.v, step: step) }
        // Seven 8-byte words per slot, laid out as the kernel's adamw_slot (56 bytes): four
        // addresses, count, first block, then decay in the low half of the last word (little-endian).
        var table: [UInt64] = []
        var blocks = 0
        for p in parameters {
            let addresses = try [(p.param, "param"), (p.grad, "grad"), (p.m, "m"), (p.v, "v")].map { tensor, name in
                try OperandChecks.requireDType(tensor, [.f32], op: op, argument: name)
                return try address(tensor)
            }
            let decay = Float(1 - hyper.lr * (p.decays ? hyper.weightDecay : 0))
            table += addresses + [UInt64(p.param.count), UInt64(blocks), UInt64(decay.bitPattern)]  // allowed: CUDA launch sizes and tensor counts of tensors allocated on the device, each far below 2^31; CUDA driver values widen
            blocks += (p.param.count + Self.adamwChunk - 1) / Self.adamwChunk
        }
        guard blocks > 0 else { return }
        let slots = try table.withUnsafeBytes { try upload(bytes: $0, shape: [table.count * 2], dtype: .i32, owner: nil) }
        let correction1 = 1 - pow(hyper.beta1, Double(step)), correction2 = 1 - pow(hyper.beta2, Double(step))
        try device.launch("tailor_adamw_multi_f32", grid: LaunchSize(blocks), block: LaunchSize(Self.elementBlock), sharedBytes: 0, [
            .pointer(try address(slots)), .int32(Int32(parameters.count)), .int64(Int64(Self.adamwChunk)),  // allowed: CUDA launch sizes and tensor counts of tensors allocated on the device, each far below 2^31; CUDA driver values widen
            .float(Float(1 - hyper.beta1)), .float(Float(hyper.beta2)), .float(Float(1 - hyper.beta2)),
            .float(Float(hyper.lr / correction1)), .float(Float(correction2.squareRoot())), .float(Float(hyper.eps)),
        ])
    }

    /// Elements per block of the multi-tensor AdamW step.
    static let adamwChunk = 8192

    public func bnbAdamW(_ parameters: [BnbAdamWTensors], hyper: AdamWHyper, step: Int) throws {
        throw TensorError.notBuilt(what: "bitsandbytes' AdamW (optim adamw_8bit, adamw_bnb_8bit, paged_adamw_8bit, paged_adamw_32bit)",
                                   backend: name, instead: "use optim adamw_torch on this device, or train on the CPU")
    }

    public func sgd(param: Tensor, grad: Tensor, momentumBuffer: Tensor?, hyper: SGDHyper, initializeBuffer: Bool) throws {
        let op = "sgd"
        try OperandChecks.requireShape(grad, param.shape, op: op, "grad")
        if let momentumBuffer { try OperandChecks.requireShape(momentumBuffer, param.shape, op: op, "momentumBuffer") }
        try launchElementwise("tailor_sgd_f32", count: param.count, [
            try f32(param, op: op, "param"), try f32(grad, op: op, "grad"),
            try momentumBuffer.map { try f32($0, op: op, "momentumBuffer") } ?? .pointer(0),
            .float(Float(hyper.weightDecay)), .float(Float(hyper.momentum)), .float(Float(1 - hyper.dampening)), .float(Float(-hyper.lr)),
            .int32(hyper.nesterov ? 1 : 0), .int32(initializeBuffer ? 1 : 0), .int64(Int64(param.count)),  // allowed: CUDA launch sizes and tensor counts of tensors allocated on the device, each far below 2^31; CUDA driver values widen
        ])
    }
}
