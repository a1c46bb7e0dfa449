#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The plain CPU kernels: single-threaded loops written to be obviously correct, accumulating
/// in `Double`. The fast kernels and every other backend are tested against these.
///
/// All pointers are f32 unless named otherwise; shapes are given as counts.
enum CPUReference {
    // MARK: Matrix products

    /// c[M, N] = alpha · op(a) · op(b) + beta · c, with row-major a (lda = its row length).
    static func gemm(_ a: UnsafePointer<Float>, transposeA: Bool, _ b: UnsafePointer<Float>, transposeB: Bool,
                     _ c: UnsafeMutablePointer<Float>, m: Int, n: Int, k: Int, alpha: Float, beta: Float) {
        for i in 0..<m {
            for j in 0..<n {
                var sum = 0.0
                for p in 0..<k {
                    let av = transposeA ? a[p * m + i] : a[i * k + p]
                    let bv = transposeB ? b[j * k + p] : b[p * n + j]
                    sum += Double(av) * Double(bv)
                }
                let prior: Float = beta == 0 ? 0 : beta * c[i * n + j]
                c[i * n + j] = alpha * Float(sum) + prior
            }
        }
    }

    static func addBias(_ x: UnsafeMutablePointer<Float>, _ bias: UnsafePointer<Float>, rows: Int, cols: Int) {
        for r in 0..<rows { for c in 0..<cols { x[r * cols + c] += bias[c] } }
    }

    static func biasBackward(_ dOut: UnsafePointer<Float>, _ dBias: UnsafeMutablePointer<Float>, rows: Int, cols: Int) {
        for c in 0..<cols {
            var sum = 0.0
            for r in 0..<rows { sum += Double(dOut[r * cols + c]) }
            dBias[c] += Float(sum)
        }
    }

    // MARK: Layers

    static func rmsNormForward(_ x: UnsafePointer<Float>, _ weight: UnsafePointer<Float>, eps: Float,
                               _ out: UnsafeMutablePointer<Float>, _ rstd: UnsafeMutablePointer<Float>,
                               rows: Int, cols: Int) {
        for r in 0..<rows {
            let row = x + r * cols
            var sumSquares = 0.0
            for c in 0..<cols { sumSquares += Double(row[c]) * Double(row[c]) }
            let inv = Float(1.0 / (sumSquares / Double(cols) + Double(eps)).squareRoot())
            rstd[r] = inv
            for c in 0..<cols { out[r * cols + c] = (row[c] * inv) * weight[c] }
        }
    }

    static func rmsNormBackward(_ dOut: UnsafePointer<Float>, _ x: UnsafePointer<Float>, _ weight: UnsafePointer<Float>,
                                _ rstd: UnsafePointer<Float>, _ dx: UnsafeMutablePointer<Float>, accumulate: Bool,
                                _ dWeight: UnsafeMutablePointer<Float>?, rows: Int, cols: Int) {
        for r in 0..<rows {
            let dy = dOut + r * cols, xr = x + r * cols
            let inv = Double(rstd[r])
            var dot = 0.0  // Σ (dy·w)·x
            for c in 0..<cols { dot += Double(dy[c]) * Double(weight[c]) * Double(xr[c]) }
            let coefficient = dot * inv * inv * inv / Double(cols)
            for c in 0..<cols {
                let g = Double(dy[c]) * Double(weight[c])
                let value = Float(g * inv - Double(xr[c]) * coefficient)
                dx[r * cols + c] = accumulate ? dx[r * cols + c] + value : value
            }
        }
        if let dWeight {
            for c in 0..<cols {
                var sum = 0.0
                for r in 0..<rows { sum += Double(dOut[r * cols + c]) * Double(x[r * cols + c]) * Double(rstd[r]) }
                dWeight[c] += Float(sum)
            }
        }
    }

    static func rope(_ x: UnsafeMutablePointer<Float>, positions: UnsafePointer<Int32>, cos: UnsafePointer<Float>,
                     sin: UnsafePointer<Float>, tokens: Int, heads: Int, headDim: Int, inverse: Bool) {
        let half = headDim / 2
        for n in 0..<tokens {
            let p = Int(positions[n])  // allowed: Int32 positions, slots and targets widen to Int
            for h in 0..<heads {
                let v = x + (n * heads + h) * headDim
                for i in 0..<half {
                    let c = cos[p * half + i], s = inverse ? -sin[p * half + i] : sin[p * half + i]
                    let x1 = v[i], x2 = v[i + half]
                    v[i] = x1 * c - x2 * s
                    v[i + half] = x2 * c + x1 * s
                }
            }
        }
    }

    static func attentionForward(q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>,
                                 seqStart: UnsafePointer<Int32>, scale: Float,
                                 out: UnsafeMutablePointer<Float>, lse: UnsafeMutablePointer<Float>,
                                 tokens: Int, heads: Int, kvHeads: Int, headDim: Int) {
        let group = heads / kvHeads
        for n in 0..<tokens {
            let start = Int(seqStart[n])  // allowed: Int32 positions, slots and targets widen to Int
            for h in 0..<heads {
                let kvh = h / group
                let qv = q + (n * heads + h) * headDim
                var scores = [Double](repeating: 0, count: n - start + 1)
                for j in start...n {
                    let kv = k + (j * kvHeads + kvh) * headDim
                    var dot = 0.0
                    for d in 0..<headDim { dot += Double(qv[d]) * Double(kv[d]) }
                    scores[j - start] = dot * Double(scale)
                }
                let maxScore = scores.max() ?? 0
                var sum = 0.0
                for s in scores { sum += exp(s - maxScore) }
                let logSumExp = maxScore + log(sum)
                lse[n * heads + h] = Float(logSumExp)
                let o = out + (n * heads + h) * headDim
                for d in 0..<headDim {
                    var acc = 0.0
                    for j in start...n {
                        acc += exp(scores[j - start] - logSumExp) * Double(v[(j * kvHeads + kvh) * headDim + d])
                    }
                    o[d] = Float(acc)
                }
            }
        }
    }

    static func attentionBackward(dOut: UnsafePointer<Float>, q: UnsafePointer<Float>, k: UnsafePointer<Float>,
                                  v: UnsafePointer<Float>, lse: UnsafePointer<Float>, seqStart: UnsafePointer<Int32>,
                                  scale: Float, dq: UnsafeMutablePointer<Float>, dk: UnsafeMutablePointer<Float>,
                                  dv: UnsafeMutablePointer<Float>, tokens: Int, heads: Int, kvHeads: Int, headDim: Int) {
        let group = heads / kvHeads
        var dqAcc = [Double](repeating: 0, count: tokens * heads * headDim)
        var dkAcc = [Double](repeating: 0, count: tokens * kvHeads * headDim)
        var dvAcc = [Double](repeating: 0, count: tokens * kvHeads * headDim)
        for n in 0..<tokens {
            let start = Int(seqStart[n])  // allowed: Int32 positions, slots and targets widen to Int
            for h in 0..<heads {
                let kvh = h / group
                let qBase = (n * heads + h) * headDim
                let logSumExp = Double(lse[n * heads + h])
                var probs = [Double](repeating: 0, count: n - start + 1)
                var dProbs = [Double](repeating: 0, count: n - start + 1)
                for j in start...n {
                    let kBase = (j * kvHeads + kvh) * headDim
                    var dot = 0.0, dDot = 0.0
                    for d in 0..<headDim {
                        dot += Double(q[qBase + d]) * Double(k[kBase + d])
                        dDot += Double(dOut[qBase + d]) * Double(v[kBase + d])
                    }
                    probs[j - start] = exp(dot * Double(scale) - logSumExp)
                    dProbs[j - start] = dDot
                }
                var rowDot = 0.0
                for i in 0..<probs.count { rowDot += probs[i] * dProbs[i] }
                for j in start...n {
                    let kBase = (j * kvHeads + kvh) * headDim
                    let p = probs[j - start]
                    let dScore = p * (dProbs[j - start] - rowDot) * Double(scale)
                    for d in 0..<headDim {
                        dqAcc[qBase + d] += dScore * Double(k[kBase + d])
                        dkAcc[kBase + d] += dScore * Double(q[qBase + d])
                        dvAcc[kBase + d] += p * Double(dOut[qBase + d])
                    }
                }
            }
        }
        for i in 0..<dqAcc.count { dq[i] = Float(dqAcc[i]) }
        for i in 0..<dkAcc.count { dk[i] = Float(dkAcc[i]); dv[i] = Float(dvAcc[i]) }
    }

    static func swigluForward(gate: UnsafePointer<Float>, up: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>, count: Int) {
        for i in 0..<count {
            let g = Double(gate[i])
            out[i] = Float(g / (1 + exp(-g)) * Double(up[i]))
        }
    }

    static func swigluBackward(_ dOut: UnsafePointer<Float>, gate: UnsafePointer<Float>, up: UnsafePointer<Float>,
                               dGate: UnsafeMutablePointer<Float>, dUp: UnsafeMutablePointer<Float>, count: Int) {
        for i in 0..<count {
            let g = Double(gate[i]), u = Double(up[i]), dy = Double(dOut[i])
            let sigmoid = 1 / (1 + exp(-g))
            let silu = g * sigmoid
            dGate[i] = Float(dy * u * sigmoid * (1 + g * (1 - sigmoid)))
            dUp[i] = Float(dy * silu)
        }
    }

    static func crossEntropy(_ logits: UnsafeMutablePointer<Float>, targets: UnsafePointer<Int32>,
                             losses: UnsafeMutablePointer<Float>, gradScale: Float, rows: Int, vocab: Int) {
        for r in 0..<rows {
            let row = logits + r * vocab
            let target = Int(targets[r])  // allowed: Int32 positions, slots and targets widen to Int
            if target < 0 {
                losses[r] = 0
                for c in 0..<vocab { row[c] = 0 }
                continue
            }
            var maxLogit = -Double.infinity
            for c in 0..<vocab { maxLogit = max(maxLogit, Double(row[c])) }
            var sum = 0.0
            for c in 0..<vocab { sum += exp(Double(row[c]) - maxLogit) }
            let logSumExp = maxLogit + log(sum)
            losses[r] = Float(logSumExp - Double(row[target]))
            for c in 0..<vocab {
                let p = exp(Double(row[c]) - logSumExp)
                row[c] = Float((p - (c == target ? 1 : 0)) * Double(gradScale))
            }
        }
    }

    // MARK: Optimizer

    /// torch.optim.AdamW's single-tensor step: scalars in Double as Python computes them,
    /// elementwise math in Float as the tensors are f32.
    static func adamw(param: UnsafeMutablePointer<Float>, grad: UnsafePointer<Float>, m: UnsafeMutablePointer<Float>,
                      v: UnsafeMutablePointer<Float>, count: Int, hyper: AdamWHyper, step: Int) {
        let lr = hyper.lr, beta1 = hyper.beta1, beta2 = hyper.beta2
        let decay = Float(1 - lr * hyper.weightDecay)
        let biasCorrection1 = 1 - pow(beta1, Double(step))
        let biasCorrection2 = 1 - pow(beta2, Double(step))
        let stepSize = Float(lr / biasCorrection1)
        let correction2Sqrt = Float(biasCorrection2.squareRoot())
        let oneMinusBeta1 = Float(1 - beta1), oneMinusBeta2 = Float(1 - beta2), b2 = Float(beta2)
        let eps = Float(hyper.eps)
        for i in 0..<count {
            param[i] *= decay
            m[i] = m[i].addingProduct(oneMinusBeta1, grad[i] - m[i])  // torch.lerp (fused on CPU)
            v[i] = v[i] * b2 + oneMinusBeta2 * grad[i] * grad[i]
            let denom = v[i].squareRoot() / correction2Sqrt + eps
            param[i] += -stepSize * (m[i] / denom)
        }
    }

    /// torch.optim.SGD's single-tensor step. Every `x.add(y, alpha=a)` of torch is a fused
    /// multiply-add with `a` rounded to f32, as its vectorised CPU kernel computes it.
    static func sgd(param: UnsafeMutablePointer<Float>, grad: UnsafePointer<Float>, buffer: UnsafeMutablePointer<Float>?,
                    count: Int, hyper: SGDHyper, initializeBuffer: Bool) {
        let decay = Float(hyper.weightDecay), momentum = Float(hyper.momentum)
        let keep = Float(1 - hyper.dampening), step = Float(-hyper.lr)
        for i in 0..<count {
            var g = grad[i]
            if hyper.weightDecay != 0 { g = g.addingProduct(decay, param[i]) }  // grad.add(param, alpha=wd)
            if let buffer {
                buffer[i] = initializeBuffer ? g : (buffer[i] * momentum).addingProduct(keep, g)  // buf.mul_(m).add_(g, 1-d)
                g = hyper.nesterov ? g.addingProduct(momentum, buffer[i]) : buffer[i]
            }
            param[i] = param[i].addingProduct(step, g)  // param.add_(g, alpha=-lr)
        }
    }
}
