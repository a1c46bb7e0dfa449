import Foundation
import TailorTensor

/// torch.nn.LSTM(bidirectional: true, batch_first: true) over one sequence of P rows, forward and
/// backward, on the host (P-tuning's LSTM prompt encoder). Per layer and direction, with gates
/// z = W_ih·x_t + b_ih + W_hh·h_prev + b_hh split as torch orders them (i, f, g, o):
///     c_t = σ(f)·c_prev + σ(i)·tanh(g),   h_t = σ(o)·tanh(c_t),   h and c start at zero;
/// the reverse direction runs from the last row to the first; a layer's output row t is
/// [h_t forward, h_t reverse] [2H], the next layer's input. No dropout between layers (peft's
/// `encoder_dropout` 0).
struct HostLSTM {
    let inputs: Int
    let hidden: Int
    let layers: Int

    /// torch's parameter names and shapes, in named_parameters order: per layer l, weight_ih_l{l}
    /// [4H, in], weight_hh_l{l} [4H, H], bias_ih_l{l} [4H], bias_hh_l{l} [4H], then the same with
    /// `_reverse`; `in` is C for layer 0, 2H above.
    static func shapes(inputs: Int, hidden h: Int, layers: Int) -> [(name: String, shape: [Int])] {
        (0..<layers).flatMap { layer -> [(name: String, shape: [Int])] in
            let width = layer == 0 ? inputs : 2 * h
            return ["", "_reverse"].flatMap { suffix -> [(name: String, shape: [Int])] in
                [("weight_ih_l\(layer)\(suffix)", [4 * h, width]), ("weight_hh_l\(layer)\(suffix)", [4 * h, h]),
                 ("bias_ih_l\(layer)\(suffix)", [4 * h]), ("bias_hh_l\(layer)\(suffix)", [4 * h])]
            }
        }
    }

    /// One direction of one layer over the sequence, by row (not by step).
    struct Pass {
        /// σ(i), σ(f), tanh(g), σ(o) [P, 4H].
        var gates: [Float]
        /// c_t [P, H].
        var cells: [Float]
        /// h_t [P, H].
        var states: [Float]
    }

    /// What the forward keeps for the backward.
    struct Forward {
        /// Each layer's input [P, C] or [P, 2H].
        var layerInputs: [[Float]]
        /// passes[layer][direction] (0 forward, 1 reverse).
        var passes: [[Pass]]
        /// The last layer's output [P, 2H].
        var output: [Float]
    }

    private static func sigmoid(_ x: Float) -> Float { 1 / (1 + exp(-x)) }

    /// The rows in the order a direction visits them.
    private static func order(_ rows: Int, reverse: Bool) -> [Int] { reverse ? Array((0..<rows).reversed()) : Array(0..<rows) }

    /// x [P, width] → the LSTM's output [P, 2H]; `tensors` in `shapes`' order.
    func forward(_ x: [Float], rows p: Int, tensors: [[Float]]) throws -> Forward {
        var result = Forward(layerInputs: [], passes: [], output: x)
        for layer in 0..<layers {
            let width = layer == 0 ? inputs : 2 * hidden
            let input = result.output
            let passes = try (0..<2).map { direction -> Pass in
                let w = Array(tensors[(8 * layer + 4 * direction)..<(8 * layer + 4 * direction + 4)])
                return try pass(input, rows: p, width: width, weights: w, reverse: direction == 1)
            }
            var output = [Float](repeating: 0, count: p * 2 * hidden)
            for t in 0..<p {
                for (direction, pass) in passes.enumerated() {
                    for j in 0..<hidden { output[t * 2 * hidden + direction * hidden + j] = pass.states[t * hidden + j] }
                }
            }
            result.layerInputs.append(input)
            result.passes.append(passes)
            result.output = output
        }
        return result
    }

    // One direction: weights [W_ih [4H, width], W_hh [4H, H], b_ih [4H], b_hh [4H]].
    private func pass(_ x: [Float], rows p: Int, width: Int, weights w: [[Float]], reverse: Bool) throws -> Pass {
        let h = hidden, g4 = 4 * hidden
        // x·W_ihᵀ for every row at once [P, 4H].
        let projected = try LinearAlgebra.matmul(x, w[0], transposeB: true, m: p, n: g4, k: width)
        var result = Pass(gates: [Float](repeating: 0, count: p * g4), cells: [Float](repeating: 0, count: p * h),
                          states: [Float](repeating: 0, count: p * h))
        var state = [Float](repeating: 0, count: h), cell = [Float](repeating: 0, count: h)
        for t in Self.order(p, reverse: reverse) {
            let recurrent = try LinearAlgebra.matmul(state, w[1], transposeB: true, m: 1, n: g4, k: h)  // h_prev·W_hhᵀ [4H]
            for j in 0..<h {
                func z(_ gate: Int) -> Float {
                    let index = gate * h + j
                    return projected[t * g4 + index] + w[2][index] + recurrent[index] + w[3][index]
                }
                let (i, f, g, o) = (Self.sigmoid(z(0)), Self.sigmoid(z(1)), tanh(z(2)), Self.sigmoid(z(3)))
                cell[j] = f * cell[j] + i * g
                state[j] = o * tanh(cell[j])
                for (gate, value) in [i, f, g, o].enumerated() { result.gates[t * g4 + gate * h + j] = value }
            }
            result.cells.replaceSubrange((t * h)..<((t + 1) * h), with: cell)
            result.states.replaceSubrange((t * h)..<((t + 1) * h), with: state)
        }
        return result
    }

    /// From dOut [P, 2H], the loss's gradient of the output: the gradient of the input x [P, C] and
    /// of every tensor, in `shapes`' order.
    func backward(_ dOut: [Float], forward: Forward, rows p: Int, tensors: [[Float]]) throws -> (input: [Float], tensors: [[Float]]) {
        var gradients = [[Float]](repeating: [], count: 8 * layers)
        var dLayerOutput = dOut
        for layer in stride(from: layers - 1, through: 0, by: -1) {
            let width = layer == 0 ? inputs : 2 * hidden
            var dInput = [Float](repeating: 0, count: p * width)
            for direction in 0..<2 {
                var dStates = [Float](repeating: 0, count: p * hidden)
                for t in 0..<p {
                    for j in 0..<hidden { dStates[t * hidden + j] = dLayerOutput[t * 2 * hidden + direction * hidden + j] }
                }
                let first = 8 * layer + 4 * direction
                let back = try passBackward(dStates, pass: forward.passes[layer][direction], input: forward.layerInputs[layer], rows: p,
                                            width: width, weights: Array(tensors[first..<(first + 4)]), reverse: direction == 1)
                for (offset, gradient) in back.tensors.enumerated() { gradients[first + offset] = gradient }
                for i in dInput.indices { dInput[i] += back.input[i] }
            }
            dLayerOutput = dInput
        }
        return (dLayerOutput, gradients)
    }

    // One direction back through time from dStates [P, H] (the loss's gradient of each h_t by row).
    private func passBackward(_ dStates: [Float], pass: Pass, input x: [Float], rows p: Int, width: Int, weights w: [[Float]],
                              reverse: Bool) throws -> (input: [Float], tensors: [[Float]]) {
        let h = hidden, g4 = 4 * hidden
        var dGates = [Float](repeating: 0, count: p * g4)  // dz by row [P, 4H]
        var previousStates = [Float](repeating: 0, count: p * h)  // h_prev by row [P, H]
        var dState = [Float](repeating: 0, count: h), dCell = [Float](repeating: 0, count: h)
        let steps = Self.order(p, reverse: reverse)
        for (step, t) in steps.enumerated().reversed() {
            let previous = step > 0 ? steps[step - 1] : nil
            var dz = [Float](repeating: 0, count: g4)
            for j in 0..<h {
                let (i, f, g, o) = (pass.gates[t * g4 + j], pass.gates[t * g4 + h + j], pass.gates[t * g4 + 2 * h + j], pass.gates[t * g4 + 3 * h + j])
                let cellPrevious = previous.map { pass.cells[$0 * h + j] } ?? 0
                let tanhCell = tanh(pass.cells[t * h + j])
                let dh = dStates[t * h + j] + dState[j]
                let dc = dCell[j] + dh * o * (1 - tanhCell * tanhCell)
                dz[j] = dc * g * i * (1 - i)
                dz[h + j] = dc * cellPrevious * f * (1 - f)
                dz[2 * h + j] = dc * i * (1 - g * g)
                dz[3 * h + j] = dh * tanhCell * o * (1 - o)
                dCell[j] = dc * f
                if let previous { previousStates[t * h + j] = pass.states[previous * h + j] }
            }
            dGates.replaceSubrange((t * g4)..<((t + 1) * g4), with: dz)
            dState = try LinearAlgebra.matmul(dz, w[1], m: 1, n: h, k: g4)  // dz·W_hh [H]
        }
        let dBias = HostDense.columnSums(dGates, rows: p, columns: g4)
        return (try LinearAlgebra.matmul(dGates, w[0], m: p, n: width, k: g4),
                [try HostDense.weightGradient(dGates, rows: p, outputs: g4, input: x, inputs: width),
                 try HostDense.weightGradient(dGates, rows: p, outputs: g4, input: previousStates, inputs: h), dBias, dBias])
    }
}
