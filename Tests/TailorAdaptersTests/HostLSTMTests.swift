@testable import TailorAdapters
import TailorTensor
import XCTest

/// The LSTM of P-tuning's encoder on its own: its backward through time against central differences
/// of a smooth loss (no ReLU after it, so no kink lies within a step), in both directions and layers.
/// (`PTuningReferenceTests` compares the whole encoder with peft's over 10 training steps.)
final class HostLSTMTests: XCTestCase {
    func testBackwardMatchesFiniteDifferences() throws {
        let (p, c, h, layers) = (5, 3, 4, 2)
        let lstm = HostLSTM(inputs: c, hidden: h, layers: layers)
        var generator = SplitMix64(state: 11)
        func draw(_ count: Int, _ scale: Float) -> [Float] { (0..<count).map { _ in (generator.nextFloat() * 2 - 1) * scale } }
        var tensors = HostLSTM.shapes(inputs: c, hidden: h, layers: layers).map { draw($0.shape.reduce(1, *), 0.6) }
        var x = draw(p * c, 1)
        let weights = draw(p * 2 * h, 1)  // loss = Σ weights ⊙ output
        func loss() throws -> Double {
            let output = try lstm.forward(x, rows: p, tensors: tensors).output
            return zip(output, weights).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
        }
        let forward = try lstm.forward(x, rows: p, tensors: tensors)
        let back = try lstm.backward(weights, forward: forward, rows: p, tensors: tensors)
        XCTAssertEqual(back.tensors.map(\.count), tensors.map(\.count))
        func check(_ analytic: Float, _ label: String, perturb: (Float) -> Void) throws {
            let step: Float = 1e-2
            perturb(step)
            let up = try loss()
            perturb(-2 * step)
            let down = try loss()
            perturb(step)
            let numeric = (up - down) / (2 * Double(step))
            XCTAssertEqual(Double(analytic), numeric, accuracy: 1e-2 * abs(numeric) + 2e-4, label)
        }
        for (index, name) in HostLSTM.shapes(inputs: c, hidden: h, layers: layers).map(\.name).enumerated() {
            for k in stride(from: 0, to: tensors[index].count, by: 7) {
                try check(back.tensors[index][k], "\(name)[\(k)]") { tensors[index][k] += $0 }
            }
        }
        for k in x.indices { try check(back.input[k], "x[\(k)]") { x[k] += $0 } }
    }

    /// The reverse direction reads the rows from the last: its output at row 0 depends on every row.
    func testTheReverseDirectionSeesLaterRows() throws {
        let lstm = HostLSTM(inputs: 2, hidden: 3, layers: 1)
        var generator = SplitMix64(state: 5)
        let tensors = HostLSTM.shapes(inputs: 2, hidden: 3, layers: 1).map { shape in
            (0..<shape.shape.reduce(1, *)).map { _ in generator.nextFloat() - 0.5 }
        }
        let x: [Float] = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6]
        var later = x
        later[5] = -0.6
        let one = try lstm.forward(x, rows: 3, tensors: tensors).output, two = try lstm.forward(later, rows: 3, tensors: tensors).output
        XCTAssertEqual(Array(one[0..<3]), Array(two[0..<3]), "the forward direction at row 0 sees row 0 only")
        XCTAssertNotEqual(Array(one[3..<6]), Array(two[3..<6]), "the reverse direction at row 0 has seen row 2")
    }
}
