import TailorTensor
import TailorTestSupport
import XCTest

/// Both CPU kernel sets, and short-hands for moving test data in and out.
struct KernelHarness {
    let reference: CPUBackend
    let fast: CPUBackend

    init() throws {
        reference = try CPUBackend(kernels: .reference)
        fast = try CPUBackend(kernels: .fast)
    }

    /// Σ a·b in Double: the scalar "loss" whose gradient with respect to `a` is `b`.
    static func weightedSum(_ a: [Float], _ b: [Float]) -> Double {
        var sum = 0.0
        for i in 0..<a.count { sum += Double(a[i]) * Double(b[i]) }
        return sum
    }
}

extension Backend {
    func f32(_ values: [Float], _ shape: [Int]) throws -> Tensor { try upload(values, shape: shape, dtype: .f32) }
    func i32(_ values: [Int32]) throws -> Tensor { try upload(values, shape: [values.count]) }
    func values(_ tensor: Tensor) throws -> [Float] { try download(tensor) }
}

/// seqStart for back-to-back sequences of the given lengths.
func sequenceStarts(_ lengths: [Int]) -> [Int32] {
    var starts: [Int32] = []
    var offset = 0
    for length in lengths {
        starts += Array(repeating: Int32(offset), count: length)
        offset += length
    }
    return starts
}
