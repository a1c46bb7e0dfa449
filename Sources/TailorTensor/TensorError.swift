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
    /// The loaded BLAS library lacks a LAPACK routine a decomposition needs.
    case lapackMissing(symbol: String, library: String)
    /// A LAPACK decomposition reported an error (its `info`).
    case decompositionFailed(op: String, info: Int)
    /// Memory could not be allocated.
    case allocationFailed(bytes: Int)
    /// Host data did not match the tensor it was meant for.
    case hostDataMismatch(expected: Int, got: Int)
    /// This backend has no kernel for what was asked (`what`), with what to do instead.
    case notBuilt(what: String, backend: String, instead: String)
    /// A value to quantize is infinite or NaN (element `index` of the flattened tensor).
    case nonFinite(index: Int)
    /// A 4-bit blocksize bitsandbytes does not accept.
    case invalidBlocksize(Int, accepted: [Int])
    /// A 4-bit quant type other than nf4 / fp4.
    case unknownQuantType(String)
    /// A part of a quantized tensor (codes, absmax, nested absmax) has the wrong number of entries.
    case quantizedDataMismatch(part: String, expected: Int, got: Int)
    /// A tensor in ggml blocks whose rows (last dimension) are not a whole number of blocks.
    case rowsNotWholeBlocks(dtype: DType, rowLength: Int, blockSize: Int)

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
        case let .lapackMissing(symbol, library):
            return "the BLAS library \(library.isEmpty ? "loaded" : library) has no LAPACK routine \(symbol), which the SVD / QR of PiSSA and OLoRA need; install OpenBLAS with its LAPACK part (`apt-get install -y libopenblas-dev`, Debian's carries it) or point TAILOR_BLAS_LIBRARY at such a build"
        case let .decompositionFailed(op, info):
            return "LAPACK \(op) failed (info \(info)): \(info < 0 ? "argument \(-info) was invalid" : "the matrix holds NaN or infinite values, or the iteration did not converge"); check the weights"
        case let .allocationFailed(bytes):
            return "could not allocate \(bytes) bytes; reduce the batch size or sequence length"
        case let .hostDataMismatch(expected, got):
            return "host data has \(got) elements, the tensor needs \(expected)"
        case let .notBuilt(what, backend, instead):
            return "\(what) is not built for the \(backend) backend yet; \(instead)"
        case let .nonFinite(index):
            return "element \(index) is infinite or NaN, which 4-bit blocks cannot hold; check the weights (or load them unquantized)"
        case let .invalidBlocksize(blocksize, accepted):
            return "4-bit blocksize \(blocksize) is not one bitsandbytes accepts; use one of \(accepted.map(String.init).joined(separator: ", "))"
        case let .unknownQuantType(name):
            return "unknown 4-bit quant type '\(name)'; use nf4 or fp4"
        case let .quantizedDataMismatch(part, expected, got):
            return "the quantized tensor's \(part) has \(got) entries, its shape and blocksize need \(expected); the file is damaged or was written for another shape"
        case let .rowsNotWholeBlocks(dtype, rowLength, blockSize):
            return "a \(dtype) tensor stores each row in blocks of \(blockSize) values, but its rows have \(rowLength); "
                + "the file is damaged, or import it dequantized (tailor import gguf --dtype f32) and train the folder"
        }
    }
}
