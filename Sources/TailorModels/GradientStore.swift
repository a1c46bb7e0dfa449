import TailorTensor

/// Gradient tensors (f32) for the parameters being trained, keyed by Hugging Face name.
/// Backward passes accumulate into them; parameters without an entry get no weight gradient
/// (a frozen base costs only its input gradients).
public final class GradientStore: @unchecked Sendable {
    private var tensors: [String: Tensor] = [:]
    /// Names in the order they were added.
    public private(set) var names: [String] = []

    public init() {}

    /// Adds a zeroed gradient for `name` shaped like `shape`.
    public func add(_ name: String, shape: [Int], backend: Backend) throws {
        guard tensors[name] == nil else { return }
        tensors[name] = try backend.zeros(shape, dtype: .f32)
        names.append(name)
    }

    public subscript(name: String) -> Tensor? { tensors[name] }

    /// Sets every gradient to zero.
    public func zero(backend: Backend) throws {
        for name in names { try backend.fill(tensors[name]!, value: 0) }
    }

    /// The global L2 norm over all gradients.
    public func globalNorm(backend: Backend) throws -> Double {
        try backend.sumOfSquares(names.compactMap { tensors[$0] }).squareRoot()
    }
}
