/// Errors of the tensor layer. Each says what was wrong and what to do.
public enum TensorError: Error, CustomStringConvertible, Equatable {
    /// A kernel got a tensor of the wrong shape. `op` names the kernel, `argument` the operand.
    case shapeMismatch(op: String, argument: String, expected: String, got: [Int])
    /// A kernel does not support this element type for this operand.
    case unsupportedDType(op: String, argument: String, dtype: DType, supported: [DType])
    /// A tensor made by one backend was handed to another.
    case foreignStorage(op: String, backend: String)
    /// The CPU GEMM library could not be loaded.
    case blasUnavailable(String)
    /// Memory could not be allocated.
    case allocationFailed(bytes: Int)
    /// Host data did not match the tensor it was meant for.
    case hostDataMismatch(expected: Int, got: Int)

    public var description: String {
        switch self {
        case let .shapeMismatch(op, argument, expected, got):
            return "\(op): \(argument) has shape \(got), expected \(expected)"
        case let .unsupportedDType(op, argument, dtype, supported):
            return "\(op): \(argument) has dtype \(dtype); supported: \(supported.map(\.rawValue).joined(separator: ", "))"
        case let .foreignStorage(op, backend):
            return "\(op): a tensor was not made by the \(backend) backend; move it there first"
        case let .blasUnavailable(message):
            return message
        case let .allocationFailed(bytes):
            return "could not allocate \(bytes) bytes; reduce the batch size or sequence length"
        case let .hostDataMismatch(expected, got):
            return "host data has \(got) elements, the tensor needs \(expected)"
        }
    }
}
