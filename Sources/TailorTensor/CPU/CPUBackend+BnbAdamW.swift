import Foundation

extension CPUBackend {
    public func bnbAdamW(_ parameters: [BnbAdamWTensors], hyper: AdamWHyper, step: Int) throws {
        let op = "bnbAdamW"
        guard step >= 1 else { throw TensorError.shapeMismatch(op: op, argument: "step = \(step)", expected: "step counted from 1", got: []) }
        // Every operand checked before any parameter moves.
        for p in parameters { try check(p, op: op) }
        var noDecay = hyper
        noDecay.weightDecay = 0
        for p in parameters {
            let h = p.decays ? hyper : noDecay
            let (param, grad) = (try f32(p.param, op: op, "param"), try f32(p.grad, op: op, "grad"))
            switch p.state {
            case let .full(m, v):
                BnbAdamWArithmetic.full(param: param, grad: grad, m: try f32(m, op: op, "m"), v: try f32(v, op: op, "v"),
                                        count: p.param.count, hyper: h, step: step)
            case let .blockwise(m, mAbsmax, v, vAbsmax):
                BnbAdamWArithmetic.blockwise(
                    param: param, grad: grad, count: p.param.count, hyper: h, step: step,
                    m: try raw(m, op: op).assumingMemoryBound(to: UInt8.self), mAbsmax: try f32(mAbsmax, op: op, "mAbsmax"),
                    v: try raw(v, op: op).assumingMemoryBound(to: UInt8.self), vAbsmax: try f32(vAbsmax, op: op, "vAbsmax"))
            }
        }
    }

    private func check(_ p: BnbAdamWTensors, op: String) throws {
        try requireShape(p.grad, p.param.shape, op: op, "grad")
        _ = (try f32(p.param, op: op, "param"), try f32(p.grad, op: op, "grad"))
        switch p.state {
        case let .full(m, v):
            try requireShape(m, p.param.shape, op: op, "m")
            try requireShape(v, p.param.shape, op: op, "v")
            _ = (try f32(m, op: op, "m"), try f32(v, op: op, "v"))
        case let .blockwise(m, mAbsmax, v, vAbsmax):
            let blocks = (p.param.count + BnbAdamWState.blocksize - 1) / BnbAdamWState.blocksize
            for (tensor, name) in [(m, "m"), (v, "v")] {
                try requireShape(tensor, p.param.shape, op: op, name)
                try requireDType(tensor, [.u8], op: op, argument: name)
            }
            for (tensor, name) in [(mAbsmax, "mAbsmax"), (vAbsmax, "vAbsmax")] {
                try requireShape(tensor, [blocks], op: op, name)
                _ = try f32(tensor, op: op, name)
            }
        }
    }
}

/// bitsandbytes 0.50's CPU optimizer arithmetic for AdamW (`backends/cpu/ops.py`), element by element in
/// torch's float32 order: Python's scalars computed in Double and rounded to Float where torch rounds them,
/// `x.add_(y, alpha=a)` a fused multiply-add, `addcmul` fma(value · t1, t2, self), `addcdiv` value · t1 / t2 + self
/// (each checked against torch 2.15's CPU kernels).
enum BnbAdamWArithmetic {
    /// `_optimizer_update_32bit_cpu` ("adam"): update = m / (√v + eps · √(1 − β2ᵗ)), applied with
    /// alpha −lr · √(1 − β2ᵗ) / (1 − β1ᵗ), after the decoupled weight decay.
    static func full(param: UnsafeMutablePointer<Float>, grad: UnsafePointer<Float>, m: UnsafeMutablePointer<Float>,
                     v: UnsafeMutablePointer<Float>, count: Int, hyper: AdamWHyper, step: Int) {
        let s = Scalars(hyper, step)
        let epsTerm = Float(hyper.eps * s.correction2)
        let stepSize = Float(-hyper.lr * s.correction2 / s.correction1)
        Parallel.forEachChunk(count, costPerItem: 12) { range in
            for i in range {
                let g = grad[i]
                m[i] = (m[i] * s.beta1).addingProduct(s.oneMinusBeta1, g)
                v[i] = (v[i] * s.beta2).addingProduct(s.oneMinusBeta2 * g, g)
                if s.decays { param[i] *= s.decay }
                let update = m[i] / (v[i].squareRoot() + epsTerm)
                param[i] = param[i].addingProduct(stepSize, update)
            }
        }
    }

    /// `_optimizer_update_8bit_blockwise_cpu` ("adam"): both moments dequantized (code · absmax), updated,
    /// denom = √v / √(1 − β2ᵗ) + eps, param += (−lr / (1 − β1ᵗ)) · m / denom after the weight decay, then
    /// quantized again by bitsandbytes' C blockwise quantizer (m with the signed map, v the unsigned one).
    static func blockwise(param: UnsafeMutablePointer<Float>, grad: UnsafePointer<Float>, count: Int, hyper: AdamWHyper, step: Int,
                          m: UnsafeMutablePointer<UInt8>, mAbsmax: UnsafeMutablePointer<Float>,
                          v: UnsafeMutablePointer<UInt8>, vAbsmax: UnsafeMutablePointer<Float>) {
        let s = Scalars(hyper, step)
        let correction2 = Float(s.correction2), eps = Float(hyper.eps)
        let value = Float(-hyper.lr / s.correction1)
        let blocksize = BnbAdamWState.blocksize
        let blocks = (count + blocksize - 1) / blocksize
        let signed = BnbOptimizerMaps.signed, unsigned = BnbOptimizerMaps.unsigned
        let signedTable = BnbOptimizerMaps.signedTable, unsignedTable = BnbOptimizerMaps.unsignedTable
        // Blocks are independent: each is dequantized, stepped and quantized again in a scratch of its own.
        Parallel.forEachChunk(blocks, costPerItem: 12 * blocksize) { range in
            var mf = [Float](repeating: 0, count: blocksize), vf = [Float](repeating: 0, count: blocksize)
            for block in range {
                let start = block * blocksize, n = min(blocksize, count - start)
                mf.withUnsafeMutableBufferPointer { mb in
                    vf.withUnsafeMutableBufferPointer { vb in
                        let (ma, va) = (mAbsmax[block], vAbsmax[block])
                        for j in 0..<n {
                            let i = start + j
                            let g = grad[i]
                            let mi = (signed[Int(m[i])] * ma * s.beta1).addingProduct(s.oneMinusBeta1, g)  // allowed: a UInt8 code widens
                            let vi = (unsigned[Int(v[i])] * va * s.beta2).addingProduct(s.oneMinusBeta2 * g, g)  // allowed: a UInt8 code widens
                            let denom = vi.squareRoot() / correction2 + eps
                            if s.decays { param[i] *= s.decay }
                            param[i] = param[i] + value * mi / denom
                            mb[j] = mi
                            vb[j] = vi
                        }
                        let mBlock = UnsafeBufferPointer(rebasing: mb[0..<n]), vBlock = UnsafeBufferPointer(rebasing: vb[0..<n])
                        BlockwiseDynamicQuantizer.quantizeBlock(0, mBlock, table: signedTable, blocksize: blocksize,
                                                                codes: UnsafeMutableBufferPointer(start: m + start, count: n),
                                                                absmax: UnsafeMutableBufferPointer(start: mAbsmax + block, count: 1))
                        BlockwiseDynamicQuantizer.quantizeBlock(0, vBlock, table: unsignedTable, blocksize: blocksize,
                                                                codes: UnsafeMutableBufferPointer(start: v + start, count: n),
                                                                absmax: UnsafeMutableBufferPointer(start: vAbsmax + block, count: 1))
                    }
                }
            }
        }
    }

    /// The step's scalars: Python floats (Double), rounded to Float where torch multiplies a tensor by them.
    struct Scalars {
        let beta1, oneMinusBeta1, beta2, oneMinusBeta2, decay: Float
        let decays: Bool
        let correction1, correction2: Double

        init(_ hyper: AdamWHyper, _ step: Int) {
            beta1 = Float(hyper.beta1)
            oneMinusBeta1 = Float(1 - hyper.beta1)
            beta2 = Float(hyper.beta2)
            oneMinusBeta2 = Float(1 - hyper.beta2)
            decays = hyper.weightDecay > 0
            decay = Float(1 - hyper.lr * hyper.weightDecay)
            correction1 = 1 - pow(hyper.beta1, Double(step))
            correction2 = (1 - pow(hyper.beta2, Double(step))).squareRoot()
        }
    }
}

extension BnbOptimizerMaps {
    static let signedTable = BlockwiseDynamicQuantizer.binTable(signed)
    static let unsignedTable = BlockwiseDynamicQuantizer.binTable(unsigned)
}
