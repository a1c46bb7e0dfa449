import TailorModels
import TailorTensor

/// Dense layers on the host for the small networks that compute virtual tokens (P-tuning's prompt
/// encoder, prefix tuning's projection): a few rows through products of at most a few thousand
/// columns, once per optimizer step, against a whole model's forward and backward per micro-batch.
/// Row-major `[Float]` throughout; weights are torch's `[outputs, inputs]`.
enum HostDense {
    /// y [rows, outputs] = x [rows, inputs] · Wᵀ + b.
    static func linear(_ x: [Float], rows: Int, inputs: Int, weight: [Float], bias: [Float], outputs: Int) throws -> [Float] {
        var out = try LinearAlgebra.matmul(x, weight, transposeB: true, m: rows, n: outputs, k: inputs)
        for r in 0..<rows { for o in 0..<outputs { out[r * outputs + o] += bias[o] } }
        return out
    }

    /// dW [outputs, inputs] = dYᵀ · x.
    static func weightGradient(_ dY: [Float], rows: Int, outputs: Int, input x: [Float], inputs: Int) throws -> [Float] {
        try LinearAlgebra.matmul(dY, transposeA: true, x, m: outputs, n: inputs, k: rows)
    }

    /// dX [rows, inputs] = dY · W.
    static func inputGradient(_ dY: [Float], rows: Int, outputs: Int, weight: [Float], inputs: Int) throws -> [Float] {
        try LinearAlgebra.matmul(dY, weight, m: rows, n: inputs, k: outputs)
    }

    /// db [columns]: the column sums of dY [rows, columns].
    static func columnSums(_ x: [Float], rows: Int, columns: Int) -> [Float] {
        (0..<columns).map { column in Float((0..<rows).reduce(0.0) { $0 + Double(x[$1 * columns + column]) }) }
    }

    /// Adds `values` (one array per tensor, in `tensors`' order) into the gradients kept under the tensors' names.
    static func accumulate(_ values: [[Float]], into gradients: GradientStore, tensors: [(name: String, value: Tensor)],
                           backend: Backend) throws {
        for (index, tensor) in tensors.enumerated() {
            guard let gradient = gradients[tensor.name] else { continue }
            try backend.axpy(1, try backend.upload(values[index], shape: tensor.value.shape, dtype: .f32), gradient)
        }
    }
}
