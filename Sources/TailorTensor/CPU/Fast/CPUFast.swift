import CBLAS
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The fast CPU kernels: OpenBLAS for products, SIMD loops parallel over rows for the rest.
/// Each one is tested against its `CPUReference` twin.
enum CPUFast {
    // MARK: Matrix products

    /// Row-major sgemm on explicit leading dimensions, one thread.
    @inline(__always)
    static func sgemm(transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, alpha: Float,
                      _ a: UnsafePointer<Float>, lda: Int, _ b: UnsafePointer<Float>, ldb: Int,
                      beta: Float, _ c: UnsafeMutablePointer<Float>, ldc: Int) {
        guard m > 0, n > 0 else { return }
        tailor_cblas_sgemm(Int32(TailorCblasRowMajor.rawValue),  // allowed: CBLAS enum raw values are small
                           Int32(transposeA ? TailorCblasTrans.rawValue : TailorCblasNoTrans.rawValue),  // allowed: CBLAS enum raw values are small
                           Int32(transposeB ? TailorCblasTrans.rawValue : TailorCblasNoTrans.rawValue),  // allowed: CBLAS enum raw values are small
                           Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))  // allowed: GEMM sizes of tensors in memory; the backend checks operands below 2^31 elements
    }

    /// c[M, N] = alpha · op(a) · op(b) + beta · c on contiguous operands, split across workers
    /// by `forEachProductPiece`.
    static func gemm(_ a: UnsafePointer<Float>, transposeA: Bool, _ b: UnsafePointer<Float>, transposeB: Bool,
                     _ c: UnsafeMutablePointer<Float>, m: Int, n: Int, k: Int, alpha: Float, beta: Float) {
        let lda = transposeA ? m : k
        let ldb = transposeB ? k : n
        forEachProductPiece(m: m, n: n, k: k) { _, rows, cols in
            sgemm(transposeA: transposeA, transposeB: transposeB, m: rows.count, n: cols.count, k: k, alpha: alpha,
                  transposeA ? a + rows.lowerBound : a + rows.lowerBound * lda, lda: lda,
                  transposeB ? b + cols.lowerBound * ldb : b + cols.lowerBound, ldb: ldb,
                  beta: beta, c + rows.lowerBound * n + cols.lowerBound, ldc: n)
        }
    }

    /// Splits a product c[m, n] (inner dimension k) across workers: one piece, the whole, when it
    /// is small or there is one worker; else rows of c (chunks a multiple of 8) when m ≥ n, columns
    /// (a multiple of 16) otherwise. `piece(index, rows, columns)`: at most `Parallel.workerCount`
    /// pieces, indexed from 0; a fixed split, so results are reproducible run to run.
    static func forEachProductPiece(m: Int, n: Int, k: Int, _ piece: (_ index: Int, _ rows: Range<Int>, _ columns: Range<Int>) -> Void) {
        let workers = Parallel.workerCount
        if workers <= 1 || m * n * k < 1 << 21 {
            piece(0, 0..<m, 0..<n)
        } else if m >= n {
            let chunk = ((m + workers - 1) / workers + 7) / 8 * 8
            Parallel.forEach((m + chunk - 1) / chunk) { w in piece(w, w * chunk..<min(m, w * chunk + chunk), 0..<n) }
        } else {
            let chunk = ((n + workers - 1) / workers + 15) / 16 * 16
            Parallel.forEach((n + chunk - 1) / chunk) { w in piece(w, 0..<m, w * chunk..<min(n, w * chunk + chunk)) }
        }
    }

    // MARK: Elementwise

    static func fill(_ x: UnsafeMutablePointer<Float>, _ value: Float, count: Int) {
        Parallel.forEachChunk(count) { range in
            (x + range.lowerBound).update(repeating: value, count: range.count)
        }
    }

    /// out = a + b.
    static func add(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>, count: Int) {
        Parallel.forEachChunk(count) { range in
            var i = range.lowerBound
            while i + 8 <= range.upperBound { out.setVec(i, a.vec(i) + b.vec(i)); i += 8 }
            while i < range.upperBound { out[i] = a[i] + b[i]; i += 1 }
        }
    }

    /// y += alpha · x.
    static func axpy(_ alpha: Float, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int) {
        Parallel.forEachChunk(count) { range in
            var i = range.lowerBound
            while i + 8 <= range.upperBound { y.setVec(i, y.vec(i) + alpha * x.vec(i)); i += 8 }
            while i < range.upperBound { y[i] += alpha * x[i]; i += 1 }
        }
    }

    static func scale(_ x: UnsafeMutablePointer<Float>, _ factor: Float, count: Int) {
        Parallel.forEachChunk(count) { range in
            var i = range.lowerBound
            while i + 8 <= range.upperBound { x.setVec(i, x.vec(i) * factor); i += 8 }
            while i < range.upperBound { x[i] *= factor; i += 1 }
        }
    }

    /// Σ x² in Double, per fixed chunk then summed in chunk order (reproducible).
    static func sumOfSquares(_ x: UnsafePointer<Float>, count: Int) -> Double {
        let chunk = 1 << 16
        let chunks = (count + chunk - 1) / chunk
        var partials = [Double](repeating: 0, count: chunks)
        partials.withUnsafeMutableBufferPointer { partials in
            Parallel.forEachChunk(chunks, costPerItem: chunk) { range in
                for c in range {
                    let start = c * chunk, end = min(count, start + chunk)
                    var acc = Vec.zero
                    var i = start
                    var total = 0.0
                    while i + 8 <= end {
                        let v = x.vec(i); acc += v * v; i += 8
                        if (i - start) & 4095 == 0 { total += Double(acc.sum()); acc = .zero }
                    }
                    total += Double(acc.sum())
                    while i < end { total += Double(x[i]) * Double(x[i]); i += 1 }
                    partials[c] = total
                }
            }
        }
        return partials.reduce(0, +)
    }

    static func addBias(_ x: UnsafeMutablePointer<Float>, _ bias: UnsafePointer<Float>, rows: Int, cols: Int) {
        Parallel.forEachChunk(rows, costPerItem: cols) { range in
            for r in range {
                let row = x + r * cols
                var i = 0
                while i + 8 <= cols { row.setVec(i, row.vec(i) + bias.vec(i)); i += 8 }
                while i < cols { row[i] += bias[i]; i += 1 }
            }
        }
    }

    static func biasBackward(_ dOut: UnsafePointer<Float>, _ dBias: UnsafeMutablePointer<Float>, rows: Int, cols: Int) {
        Parallel.forEachChunk(cols, costPerItem: rows) { range in
            for r in 0..<rows {
                let row = dOut + r * cols
                for c in range { dBias[c] += row[c] }
            }
        }
    }

    // MARK: Layers

    static func rmsNormForward(_ x: UnsafePointer<Float>, _ weight: UnsafePointer<Float>, eps: Float,
                               _ out: UnsafeMutablePointer<Float>, _ rstd: UnsafeMutablePointer<Float>,
                               rows: Int, cols: Int) {
        Parallel.forEachChunk(rows, costPerItem: cols * 3) { range in
            for r in range {
                let row = x + r * cols, o = out + r * cols
                let meanSquare = SIMDMath.dot(row, row, cols) / Float(cols)
                let inv = 1 / (meanSquare + eps).squareRoot()
                rstd[r] = inv
                var i = 0
                while i + 8 <= cols { o.setVec(i, (row.vec(i) * inv) * weight.vec(i)); i += 8 }
                while i < cols { o[i] = (row[i] * inv) * weight[i]; i += 1 }
            }
        }
    }

    static func rmsNormBackward(_ dOut: UnsafePointer<Float>, _ x: UnsafePointer<Float>, _ weight: UnsafePointer<Float>,
                                _ rstd: UnsafePointer<Float>, _ dx: UnsafeMutablePointer<Float>, accumulate: Bool,
                                _ dWeight: UnsafeMutablePointer<Float>?, rows: Int, cols: Int) {
        Parallel.forEachChunk(rows, costPerItem: cols * 6) { range in
            for r in range {
                let dy = dOut + r * cols, xr = x + r * cols, d = dx + r * cols
                let inv = rstd[r]
                var acc = Vec.zero
                var i = 0
                while i + 8 <= cols { acc += dy.vec(i) * weight.vec(i) * xr.vec(i); i += 8 }
                var dot = acc.sum()
                while i < cols { dot += dy[i] * weight[i] * xr[i]; i += 1 }
                let coefficient = dot * inv * inv * inv / Float(cols)
                i = 0
                while i + 8 <= cols {
                    let value = dy.vec(i) * weight.vec(i) * inv - xr.vec(i) * coefficient
                    d.setVec(i, accumulate ? d.vec(i) + value : value)
                    i += 8
                }
                while i < cols {
                    let value = dy[i] * weight[i] * inv - xr[i] * coefficient
                    d[i] = accumulate ? d[i] + value : value
                    i += 1
                }
            }
        }
        guard let dWeight else { return }
        // Columns split across workers; each column sums rows in order (reproducible).
        Parallel.forEachChunk(cols, costPerItem: rows * 2) { range in
            for r in 0..<rows {
                let dy = dOut + r * cols, xr = x + r * cols
                let inv = rstd[r]
                for c in range { dWeight[c] += dy[c] * xr[c] * inv }
            }
        }
    }

    static func rope(_ x: UnsafeMutablePointer<Float>, positions: UnsafePointer<Int32>, cos: UnsafePointer<Float>,
                     sin: UnsafePointer<Float>, tokens: Int, heads: Int, headDim: Int, inverse: Bool) {
        let half = headDim / 2
        Parallel.forEachChunk(tokens, costPerItem: heads * headDim * 3) { range in
            for n in range {
                let p = Int(positions[n])  // allowed: Int32 positions, slots and targets widen to Int
                let cosRow = cos + p * half, sinRow = sin + p * half
                for h in 0..<heads {
                    let v = x + (n * heads + h) * headDim
                    var i = 0
                    while i + 8 <= half {
                        let c = cosRow.vec(i), s = inverse ? -sinRow.vec(i) : sinRow.vec(i)
                        let x1 = v.vec(i), x2 = v.vec(i + half)
                        v.setVec(i, x1 * c - x2 * s)
                        v.setVec(i + half, x2 * c + x1 * s)
                        i += 8
                    }
                    while i < half {
                        let c = cosRow[i], s = inverse ? -sinRow[i] : sinRow[i]
                        let x1 = v[i], x2 = v[i + half]
                        v[i] = x1 * c - x2 * s
                        v[i + half] = x2 * c + x1 * s
                        i += 1
                    }
                }
            }
        }
    }

    static func swigluForward(gate: UnsafePointer<Float>, up: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>, count: Int) {
        Parallel.forEachChunk(count, costPerItem: 20) { range in
            var i = range.lowerBound
            while i + 8 <= range.upperBound {
                let g = gate.vec(i)
                out.setVec(i, g / (1 + SIMDMath.exp(-g)) * up.vec(i))
                i += 8
            }
            while i < range.upperBound {
                let g = gate[i]
                out[i] = g / (1 + SIMDMath.exp(-g)) * up[i]
                i += 1
            }
        }
    }

    static func swigluBackward(_ dOut: UnsafePointer<Float>, gate: UnsafePointer<Float>, up: UnsafePointer<Float>,
                               dGate: UnsafeMutablePointer<Float>, dUp: UnsafeMutablePointer<Float>, count: Int) {
        Parallel.forEachChunk(count, costPerItem: 25) { range in
            var i = range.lowerBound
            while i + 8 <= range.upperBound {
                let g = gate.vec(i), u = up.vec(i), dy = dOut.vec(i)
                let sigmoid = 1 / (1 + SIMDMath.exp(-g))
                let silu = g * sigmoid
                dGate.setVec(i, dy * u * sigmoid * (1 + g * (1 - sigmoid)))
                dUp.setVec(i, dy * silu)
                i += 8
            }
            while i < range.upperBound {
                let g = gate[i], u = up[i], dy = dOut[i]
                let sigmoid = 1 / (1 + SIMDMath.exp(-g))
                dGate[i] = dy * u * sigmoid * (1 + g * (1 - sigmoid))
                dUp[i] = dy * g * sigmoid
                i += 1
            }
        }
    }

    static func crossEntropy(_ logits: UnsafeMutablePointer<Float>, targets: UnsafePointer<Int32>,
                             losses: UnsafeMutablePointer<Float>, gradScale: Float, rows: Int, vocab: Int) {
        Parallel.forEachChunk(rows, costPerItem: vocab * 12) { range in
            for r in range {
                let row = logits + r * vocab
                let target = Int(targets[r])  // allowed: Int32 positions, slots and targets widen to Int
                if target < 0 {
                    losses[r] = 0
                    row.update(repeating: 0, count: vocab)
                    continue
                }
                var maxVec = Vec(repeating: -.infinity)
                var i = 0
                while i + 8 <= vocab { maxVec = pointwiseMax(maxVec, row.vec(i)); i += 8 }
                var maxLogit = maxVec.max()
                while i < vocab { maxLogit = Swift.max(maxLogit, row[i]); i += 1 }
                let targetShifted = row[target] - maxLogit
                // Exponentials are written into the row, then scaled into the gradient.
                var sumVec = Vec.zero
                i = 0
                while i + 8 <= vocab {
                    let e = SIMDMath.exp(row.vec(i) - maxLogit)
                    row.setVec(i, e)
                    sumVec += e
                    i += 8
                }
                var sum = Double(sumVec.sum())
                var tail: Float = 0
                while i < vocab { let e = SIMDMath.exp(row[i] - maxLogit); row[i] = e; tail += e; i += 1 }
                sum += Double(tail)
                losses[r] = Float(log(sum)) - targetShifted
                let factor = gradScale / Float(sum)
                i = 0
                while i + 8 <= vocab { row.setVec(i, row.vec(i) * factor); i += 8 }
                while i < vocab { row[i] *= factor; i += 1 }
                row[target] -= gradScale
            }
        }
    }

    static func adamw(param: UnsafeMutablePointer<Float>, grad: UnsafePointer<Float>, m: UnsafeMutablePointer<Float>,
                      v: UnsafeMutablePointer<Float>, count: Int, hyper: AdamWHyper, step: Int) {
        // Same arithmetic as CPUReference.adamw, elementwise order unchanged, in parallel chunks.
        Parallel.forEachChunk(count, costPerItem: 12) { range in
            CPUReference.adamw(param: param + range.lowerBound, grad: grad + range.lowerBound,
                               m: m + range.lowerBound, v: v + range.lowerBound, count: range.count,
                               hyper: hyper, step: step)
        }
    }

    static func sgd(param: UnsafeMutablePointer<Float>, grad: UnsafePointer<Float>, buffer: UnsafeMutablePointer<Float>?,
                    count: Int, hyper: SGDHyper, initializeBuffer: Bool) {
        // Same arithmetic as CPUReference.sgd, in parallel chunks.
        Parallel.forEachChunk(count, costPerItem: 6) { range in
            CPUReference.sgd(param: param + range.lowerBound, grad: grad + range.lowerBound,
                             buffer: buffer.map { $0 + range.lowerBound }, count: range.count,
                             hyper: hyper, initializeBuffer: initializeBuffer)
        }
    }
}
