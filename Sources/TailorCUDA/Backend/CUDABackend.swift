import TailorTensor

/// The Backend protocol on an NVIDIA GPU: every op is a CUDA C kernel (compiled by NVRTC on
/// first use) or a cuBLAS product, queued on one stream with no host synchronisation until a
/// result is read (`download`, `sumOfSquares`, `synchronize`).
///
/// Tensors follow the protocol's dtypes (f32 activations, gradients and trainable parameters;
/// frozen weights f32, bf16 or f16). `matmul` chooses how a product with a bf16/f16 weight runs:
/// `.fp32` widens the weight and multiplies in f32 (the parity mode: the same numbers as the CPU
/// backend up to summation order), `.halfInputs` narrows the activation to the weight's dtype and
/// lets cuBLAS multiply 16-bit inputs with f32 accumulation (the speed mode, as peft's bf16 runs).
public final class CUDABackend: Backend, @unchecked Sendable {
    public typealias MatmulPrecision = TailorTensor.MatmulPrecision

    public let device: any CUDADevice
    public let allocator: DeviceAllocator
    public let matmul: MatmulPrecision
    /// The error word kernels report bad operands to (int[4]; see KernelSource.prelude).
    let errorWord: Tensor
    /// Which op each error code of the error word came from, in launch order.
    let errorLog = ErrorLog()

    public var name: String { "cuda" }

    public init(device: any CUDADevice, matmul: MatmulPrecision = .fp32) throws {
        self.device = device
        self.allocator = DeviceAllocator(device: device)
        self.matmul = matmul
        let word = Tensor(storage: try CUDAStorage(byteCount: 16, allocator: allocator), dtype: .i32, shape: [4])
        self.errorWord = word
        try device.setBytes(address(word), to: 0, byteCount: 16)
    }

    /// Peak bytes of device memory tensors have held (`DeviceAllocator.peakAllocatedBytes`).
    public var peakMemoryBytes: Int { allocator.peakAllocatedBytes }

    /// Waits for every queued kernel and reports any bad operand a kernel found.
    public func synchronize() throws {
        try device.synchronize()
        try checkErrorWord()
    }

    // MARK: Memory

    public func empty(_ shape: [Int], dtype: DType) throws -> Tensor {
        try OperandChecks.requireNotBlockQuantized(dtype, op: "empty")
        let bytes = shape.reduce(1, *) * dtype.byteSize
        return Tensor(storage: try CUDAStorage(byteCount: bytes, allocator: allocator), dtype: dtype, shape: shape)
    }

    public func zeros(_ shape: [Int], dtype: DType) throws -> Tensor {
        let tensor = try empty(shape, dtype: dtype)
        if tensor.byteCount > 0 { try device.setBytes(address(tensor), to: 0, byteCount: tensor.byteCount) }
        return tensor
    }

    public func upload(_ values: [Float], shape: [Int], dtype: DType) throws -> Tensor {
        let tensor = try empty(shape, dtype: dtype)
        guard values.count == tensor.count else { throw TensorError.hostDataMismatch(expected: tensor.count, got: values.count) }
        try OperandChecks.requireDType(tensor, [.f32, .bf16, .f16], op: "upload([Float])", argument: "dtype")
        switch dtype {
        case .f32:
            try values.withUnsafeBytes { try copyIn($0, to: tensor) }
        default:
            let bits = values.map { dtype == .bf16 ? HalfPrecision.floatToBF16($0) : HalfPrecision.floatToF16($0) }
            try bits.withUnsafeBytes { try copyIn($0, to: tensor) }
        }
        return tensor
    }

    public func upload(_ values: [Int32], shape: [Int]) throws -> Tensor {
        let tensor = try empty(shape, dtype: .i32)
        guard values.count == tensor.count else { throw TensorError.hostDataMismatch(expected: tensor.count, got: values.count) }
        try values.withUnsafeBytes { try copyIn($0, to: tensor) }
        return tensor
    }

    public func upload(bytes: UnsafeRawBufferPointer, shape: [Int], dtype: DType, owner: AnyObject?) throws -> Tensor {
        if let block = dtype.ggmlBlockType {
            throw TensorError.notBuilt(what: "a \(block) frozen weight (LoRA on a quantized GGUF's blocks)", backend: name,
                                       instead: "import the file dequantized (tailor import gguf FILE --output DIR --dtype bf16) and train that folder")
        }
        let tensor = try empty(shape, dtype: dtype)
        guard bytes.count == tensor.byteCount else {
            throw TensorError.hostDataMismatch(expected: tensor.count, got: bytes.count / max(dtype.byteSize, 1))
        }
        try copyIn(bytes, to: tensor)
        return tensor
    }

    /// 4-bit frozen weights have no CUDA kernels yet.
    public func upload(fourBit blocks: FourBitBlocks, shape: [Int]) throws -> Tensor {
        throw TensorError.notBuilt(what: "a \(blocks.format) frozen weight (QLoRA)", backend: name,
                                   instead: "train QLoRA with --device cpu, or load the model without load_in_4bit")
    }

    public func download(_ tensor: Tensor) throws -> [Float] {
        switch tensor.dtype {
        case .f32:
            var values = [Float](repeating: 0, count: tensor.count)
            try values.withUnsafeMutableBytes { try copyOut(tensor, into: $0) }
            return values
        case .bf16, .f16:
            var bits = [UInt16](repeating: 0, count: tensor.count)
            try bits.withUnsafeMutableBytes { try copyOut(tensor, into: $0) }
            return bits.map { tensor.dtype == .bf16 ? HalfPrecision.bf16ToFloat($0) : HalfPrecision.f16ToFloat($0) }
        case .i32:
            return try downloadInt32(tensor).map(Float.init)
        default:
            throw TensorError.unsupportedDType(op: "download", argument: "tensor", dtype: tensor.dtype, supported: [.f32, .bf16, .f16, .i32])
        }
    }

    public func withBytes(of tensor: Tensor, _ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        var bytes = [UInt8](repeating: 0, count: tensor.byteCount)
        try bytes.withUnsafeMutableBytes { try copyOut(tensor, into: $0) }
        try bytes.withUnsafeBytes { try body($0) }
    }

    public func downloadInt32(_ tensor: Tensor) throws -> [Int32] {
        try OperandChecks.requireDType(tensor, [.i32], op: "downloadInt32", argument: "tensor")
        var values = [Int32](repeating: 0, count: tensor.count)
        try values.withUnsafeMutableBytes { try copyOut(tensor, into: $0) }
        return values
    }

    private func copyIn(_ bytes: UnsafeRawBufferPointer, to tensor: Tensor) throws {
        guard tensor.byteCount > 0, let base = bytes.baseAddress else { return }
        try device.copyToDevice(address(tensor), from: base, byteCount: tensor.byteCount)
    }

    /// Copies a tensor to the host after the queued work; reports bad operands found meanwhile.
    private func copyOut(_ tensor: Tensor, into bytes: UnsafeMutableRawBufferPointer) throws {
        if tensor.byteCount > 0, let base = bytes.baseAddress {
            try device.copyToHost(base, from: address(tensor), byteCount: tensor.byteCount)
        }
        try checkErrorWord()
    }

    // MARK: Access (internal to the ops)

    /// The device address of a tensor's first element.
    func address(_ tensor: Tensor) throws -> UInt64 {
        guard let storage = tensor.storage as? CUDAStorage else { throw TensorError.foreignStorage(op: "cuda", backend: name) }
        return storage.address + UInt64(tensor.byteOffset)  // allowed: CUDA launch sizes and tensor counts of tensors allocated on the device, each far below 2^31; CUDA driver values widen
    }

    func pointer(_ tensor: Tensor, _ dtypes: [DType], op: String, _ argument: String) throws -> KernelArgument {
        try OperandChecks.requireDType(tensor, dtypes, op: op, argument: argument)
        guard let storage = tensor.storage as? CUDAStorage else { throw TensorError.foreignStorage(op: op, backend: name) }
        return .pointer(storage.address + UInt64(tensor.byteOffset))  // allowed: CUDA launch sizes and tensor counts of tensors allocated on the device, each far below 2^31; CUDA driver values widen
    }

    func f32(_ tensor: Tensor, op: String, _ argument: String) throws -> KernelArgument { try pointer(tensor, [.f32], op: op, argument) }
    func i32(_ tensor: Tensor, op: String, _ argument: String) throws -> KernelArgument { try pointer(tensor, [.i32], op: op, argument) }

    /// The kernels' dtype code: 0 f32, 1 bf16, 2 f16, 3 i32.
    static func code(_ dtype: DType) -> Int32 {
        switch dtype {
        case .f32: return 0
        case .bf16: return 1
        case .f16: return 2
        default: return 3
        }
    }

    /// Threads per block for one-thread-per-element kernels, and the most blocks a grid-stride
    /// loop is launched with.
    static let elementBlock = 256
    static let maxElementBlocks = 4096

    /// Launches a grid-stride elementwise kernel over `count` elements.
    func launchElementwise(_ kernel: String, count: Int, _ arguments: [KernelArgument]) throws {
        guard count > 0 else { return }
        let blocks = min((count + Self.elementBlock - 1) / Self.elementBlock, Self.maxElementBlocks)
        try device.launch(kernel, grid: LaunchSize(blocks), block: LaunchSize(Self.elementBlock), sharedBytes: 0, arguments)
    }

    /// Threads per block for one-block-per-row kernels of `cols` columns: a multiple of 32, at most 1024.
    static func rowBlock(_ cols: Int) -> Int {
        min(1024, max(32, (min(cols, 1024) + 31) / 32 * 32))
    }
}
