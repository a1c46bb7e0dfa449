import CBLAS

/// The CPU backend: OpenBLAS for matrix products, Swift SIMD kernels for the rest, parallel over
/// rows on all cores. `.reference` runs the plain single-threaded kernels instead (for tests).
public final class CPUBackend: Backend, @unchecked Sendable {
    /// Which kernel set runs.
    public enum Kernels: Sendable {
        /// Plain loops in `CPUReference`: slow, obviously correct, the yardstick.
        case reference
        /// OpenBLAS GEMM and the SIMD, multi-threaded kernels in `CPUFast`.
        case fast
    }

    public let kernels: Kernels
    /// How products with a bf16 weight run. `.halfInputs` (bf16 products) is granted to the fast
    /// kernels only where oneDNN's AMX / AVX512-BF16 matmul loads; the reference kernels always
    /// grant it (round the activation, multiply in plain loops), as the yardstick of that mode.
    public let matmul: MatmulPrecision
    /// Why bf16 products were asked for and products run in fp32 instead (nil otherwise).
    public let matmulFallback: BF16Unavailable?
    /// Products whose rows do not depend on the other rows of a call (inference: a request batched
    /// with others gets the numbers it gets alone). With bf16 products on a CPU with AVX512-BF16,
    /// every x · Wᵀ runs a per-row kernel for any row count (bf16 weights in the C row kernel,
    /// f32 ones such as adapters in `CPUFast.gemvRows` or `rowProductsNarrowF32`) instead of oneDNN and OpenBLAS, whose
    /// blocking follows the row count. False when asked for where that does not hold. Weights in
    /// 4-bit or ggml blocks are not covered: they decode into oneDNN's products as before.
    public let batchInvariant: Bool
    public var name: String { kernels == .fast ? "cpu" : "cpu-reference" }

    /// - Parameters:
    ///   - matmul: `.halfInputs` asks for bf16 products; on a CPU or machine that cannot run them
    ///     fast, `matmul` is `.fp32` and `matmulFallback` says why.
    ///   - batchInvariant: asks for batch-invariant products (`batchInvariant`): granted to the fast
    ///     kernels with bf16 products where the row kernel runs, and always to the reference kernels
    ///     (plain loops, one row at a time).
    /// - Throws: `TensorError.blasUnavailable` when fast kernels are asked for and OpenBLAS is missing.
    public init(kernels: Kernels = .fast, matmul: MatmulPrecision = .fp32, batchInvariant: Bool = false) throws {
        self.kernels = kernels
        if kernels == .fast {
            guard tailor_cblas_load() == 1 else {
                throw TensorError.blasUnavailable(String(cString: tailor_cblas_error()))
            }
            // Tailor splits GEMMs across its own workers; OpenBLAS runs each piece on one thread.
            tailor_cblas_set_num_threads(1)
        }
        if matmul == .halfInputs, kernels == .fast, case let .failure(why) = BF16ProductInfo.load() {
            (self.matmul, self.matmulFallback) = (.fp32, why)
        } else {
            (self.matmul, self.matmulFallback) = (matmul, nil)
        }
        self.batchInvariant = batchInvariant && (kernels == .reference || (self.matmul == .halfInputs && CPUFast.rowProductsAvailable))
    }

    /// Number of worker threads the fast kernels use.
    public var threadCount: Int { kernels == .fast ? Parallel.workerCount : 1 }

    /// The OpenBLAS library in use and the kernel family chosen for this CPU, for reports.
    public static var blas: Result<BLASInfo, TensorError> { BLASInfo.load() }

    // MARK: Memory

    public func empty(_ shape: [Int], dtype: DType) throws -> Tensor {
        try OperandChecks.requireNotBlockQuantized(dtype, op: "empty")
        let bytes = shape.reduce(1, *) * dtype.byteSize
        return Tensor(storage: try CPUStorage(byteCount: bytes), dtype: dtype, shape: shape)
    }

    public func zeros(_ shape: [Int], dtype: DType) throws -> Tensor {
        let tensor = try empty(shape, dtype: dtype)
        try raw(tensor, op: "zeros").initializeMemory(as: UInt8.self, repeating: 0, count: tensor.byteCount)
        return tensor
    }

    public func upload(_ values: [Float], shape: [Int], dtype: DType) throws -> Tensor {
        let tensor = try empty(shape, dtype: dtype)
        guard values.count == tensor.count else {
            throw TensorError.hostDataMismatch(expected: tensor.count, got: values.count)
        }
        try requireDType(tensor, [.f32, .bf16, .f16], op: "upload([Float])", argument: "dtype")
        try store(values, into: tensor, op: "upload")
        return tensor
    }

    public func upload(_ values: [Int32], shape: [Int]) throws -> Tensor {
        let tensor = try empty(shape, dtype: .i32)
        guard values.count == tensor.count else {
            throw TensorError.hostDataMismatch(expected: tensor.count, got: values.count)
        }
        let base = try raw(tensor, op: "upload")
        values.withUnsafeBufferPointer { base.copyMemory(from: $0.baseAddress!, byteCount: values.count * 4) }
        return tensor
    }

    public func upload(bytes: UnsafeRawBufferPointer, shape: [Int], dtype: DType, owner: AnyObject?) throws -> Tensor {
        let expected: Int
        if let block = dtype.ggmlBlockType {
            expected = try Self.ggmlByteCount(block, shape: shape)
            guard bytes.count == expected else { throw TensorError.quantizedDataMismatch(part: "\(block) bytes", expected: expected, got: bytes.count) }
        } else {
            try OperandChecks.requireNotBlockQuantized(dtype, op: "upload(bytes:)")
            expected = shape.reduce(1, *) * dtype.byteSize
            guard bytes.count == expected else {
                throw TensorError.hostDataMismatch(expected: expected / max(dtype.byteSize, 1), got: bytes.count / max(dtype.byteSize, 1))
            }
        }
        if let owner {
            return Tensor(storage: CPUStorage(aliasing: bytes, owner: owner), dtype: dtype, shape: shape)
        }
        let tensor = dtype.isBlockQuantized ? Tensor(storage: try CPUStorage(byteCount: expected), dtype: dtype, shape: shape)
            : try empty(shape, dtype: dtype)
        if expected > 0, let source = bytes.baseAddress {
            try raw(tensor, op: "upload").copyMemory(from: source, byteCount: expected)
        }
        return tensor
    }

    public func upload(fourBit blocks: FourBitBlocks, shape: [Int]) throws -> Tensor {
        guard shape.reduce(1, *) == blocks.count else { throw TensorError.hostDataMismatch(expected: shape.reduce(1, *), got: blocks.count) }
        return Tensor(storage: CPUFourBitStorage(blocks), dtype: DType(blocks.format), shape: shape)
    }

    public func download(_ tensor: Tensor) throws -> [Float] {
        if tensor.dtype.isBlockQuantized {
            return try withDecoded(tensor, op: "download") { Array(UnsafeBufferPointer(start: $0, count: tensor.count)) }
        }
        let base = try raw(tensor, op: "download")
        switch tensor.dtype {
        case .f32:
            return Array(UnsafeBufferPointer(start: base.assumingMemoryBound(to: Float.self), count: tensor.count))
        case .bf16:
            let src = base.assumingMemoryBound(to: UInt16.self)
            return (0..<tensor.count).map { HalfPrecision.bf16ToFloat(src[$0]) }
        case .f16:
            let src = base.assumingMemoryBound(to: UInt16.self)
            return (0..<tensor.count).map { HalfPrecision.f16ToFloat(src[$0]) }
        case .i32:
            let src = base.assumingMemoryBound(to: Int32.self)
            return (0..<tensor.count).map { Float(src[$0]) }
        case .u8:
            let src = base.assumingMemoryBound(to: UInt8.self)
            return (0..<tensor.count).map { Float(src[$0]) }
        default:
            throw TensorError.unsupportedDType(op: "download", argument: "tensor", dtype: tensor.dtype, supported: [.f32, .bf16, .f16, .i32, .u8])
        }
    }

    public func withBytes(of tensor: Tensor, _ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        try body(UnsafeRawBufferPointer(start: try raw(tensor, op: "withBytes"), count: tensor.byteCount))
    }

    public func downloadInt32(_ tensor: Tensor) throws -> [Int32] {
        try requireDType(tensor, [.i32], op: "downloadInt32", argument: "tensor")
        let base = try raw(tensor, op: "downloadInt32")
        return Array(UnsafeBufferPointer(start: base.assumingMemoryBound(to: Int32.self), count: tensor.count))
    }

    // MARK: Access (internal to the CPU kernels)

    /// The host address of a tensor's first element.
    func raw(_ tensor: Tensor, op: String) throws -> UnsafeMutableRawPointer {
        guard let storage = tensor.storage as? CPUStorage else {
            if tensor.storage is CPUFourBitStorage {
                throw TensorError.unsupportedDType(op: op, argument: "tensor", dtype: tensor.dtype, supported: [.f32, .bf16, .f16, .i32])
            }
            throw TensorError.foreignStorage(op: op, backend: name)
        }
        return storage.pointer + tensor.byteOffset
    }

    func f32(_ tensor: Tensor, op: String, _ argument: String) throws -> UnsafeMutablePointer<Float> {
        try requireDType(tensor, [.f32], op: op, argument: argument)
        return try raw(tensor, op: op).assumingMemoryBound(to: Float.self)
    }

    func i32(_ tensor: Tensor, op: String, _ argument: String) throws -> UnsafeMutablePointer<Int32> {
        try requireDType(tensor, [.i32], op: op, argument: argument)
        return try raw(tensor, op: op).assumingMemoryBound(to: Int32.self)
    }

    /// Writes `values` into `tensor` (same element count), narrowed to its dtype: bf16/f16 round
    /// to nearest even, i32 truncates.
    func store(_ values: [Float], into tensor: Tensor, op: String) throws {
        let base = try raw(tensor, op: op)
        switch tensor.dtype {
        case .f32:
            values.withUnsafeBufferPointer { base.copyMemory(from: $0.baseAddress!, byteCount: values.count * 4) }
        case .bf16:
            values.withUnsafeBufferPointer { source in
                if let first = source.baseAddress { HalfPrecision.floatsToBF16(first, base.assumingMemoryBound(to: UInt16.self), count: values.count) }
            }
        case .f16:
            let out = base.assumingMemoryBound(to: UInt16.self)
            for i in 0..<values.count { out[i] = HalfPrecision.floatToF16(values[i]) }
        case .i32:
            let out = base.assumingMemoryBound(to: Int32.self)
            for i in 0..<values.count { out[i] = Int32(values[i]) }  // allowed: upload of i32 tensors takes Int32-range values (ids, positions) built by Tailor
        default:
            throw TensorError.unsupportedDType(op: op, argument: "destination", dtype: tensor.dtype, supported: [.f32, .bf16, .f16, .i32])
        }
    }

    /// Calls `body` with an f32 view of a floating-point tensor: the tensor itself when it is
    /// f32, otherwise a temporary widened copy (a frozen bf16/f16 weight).
    func withFloats<R>(_ tensor: Tensor, op: String, _ argument: String,
                       _ body: (UnsafePointer<Float>) throws -> R) throws -> R {
        if tensor.dtype.isBlockQuantized { return try withDecoded(tensor, op: op, body) }
        let base = try raw(tensor, op: op)
        switch tensor.dtype {
        case .f32:
            return try body(base.assumingMemoryBound(to: Float.self))
        case .bf16, .f16:
            let count = tensor.count
            let scratch = UnsafeMutablePointer<Float>.allocate(capacity: max(count, 1))
            defer { scratch.deallocate() }
            Self.widen(base.assumingMemoryBound(to: UInt16.self), bf16: tensor.dtype == .bf16, count: count, into: scratch)
            return try body(scratch)
        default:
            throw TensorError.unsupportedDType(op: op, argument: argument, dtype: tensor.dtype, supported: [.f32, .bf16, .f16, .nf4, .fp4] + GGMLBlockType.allCases.map(DType.init))
        }
    }

    /// `count` bf16 (or f16) values widened to f32, in parallel chunks.
    static func widen(_ source: UnsafePointer<UInt16>, bf16: Bool, count: Int, into out: UnsafeMutablePointer<Float>) {
        Parallel.forEachChunk(count, costPerItem: 1) { range in
            if bf16 {
                for i in range { out[i] = HalfPrecision.bf16ToFloat(source[i]) }
            } else {
                for i in range { out[i] = HalfPrecision.f16ToFloat(source[i]) }
            }
        }
    }

    func requireDType(_ tensor: Tensor, _ allowed: [DType], op: String, argument: String) throws {
        try OperandChecks.requireDType(tensor, allowed, op: op, argument: argument)
    }

    func requireShape(_ tensor: Tensor, _ shape: [Int], op: String, _ argument: String) throws {
        try OperandChecks.requireShape(tensor, shape, op: op, argument)
    }

    func requireCount(_ tensor: Tensor, _ count: Int, op: String, _ argument: String) throws {
        try OperandChecks.requireCount(tensor, count, op: op, argument)
    }

    /// [rows, last dim] of a tensor read as a matrix.
    func matrix(_ tensor: Tensor) -> (rows: Int, cols: Int) { OperandChecks.matrix(tensor) }
}
