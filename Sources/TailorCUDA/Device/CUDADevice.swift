import TailorTensor

/// What the CUDA backend needs from a GPU: memory, copies, kernel launches and matrix products,
/// all ordered on one stream. `DriverDevice` is the real one (libcuda, cuBLAS and NVRTC loaded
/// with dlopen); the tests run the same kernels on a host emulation of this interface, so the
/// backend's logic is checked on machines without a GPU.
///
/// Addresses are device addresses (`CUdeviceptr`). Every call is asynchronous with respect to the
/// host except `copyToHost` and `synchronize`, which wait for the work queued before them.
public protocol CUDADevice: AnyObject, Sendable {
    /// "NVIDIA H100 80GB HBM3 (sm_90, 132 SMs)", or the emulator's name.
    var name: String { get }
    /// Streaming multiprocessors (132 on an H100 SXM): kernels that split work to fill the GPU
    /// size their grids by it.
    var multiprocessorCount: Int { get }

    /// A new allocation of `byteCount` bytes (> 0), aligned to 256 bytes.
    func allocate(byteCount: Int) throws -> UInt64
    /// Returns an allocation made by `allocate`.
    func free(_ address: UInt64)

    func copyToDevice(_ destination: UInt64, from source: UnsafeRawPointer, byteCount: Int) throws
    /// Waits for queued work, then copies.
    func copyToHost(_ destination: UnsafeMutableRawPointer, from source: UInt64, byteCount: Int) throws
    func copyOnDevice(_ destination: UInt64, from source: UInt64, byteCount: Int) throws
    func setBytes(_ destination: UInt64, to value: UInt8, byteCount: Int) throws

    /// Queues kernel `kernel` (an entry of one of `KernelSource.all`) on `grid` × `block` threads.
    func launch(_ kernel: String, grid: LaunchSize, block: LaunchSize, sharedBytes: Int,
                _ arguments: [KernelArgument]) throws

    /// Queues `problem`: a batch of row-major products (see `GemmProblem`).
    func gemm(_ problem: GemmProblem) throws

    /// Waits for every queued operation; reports an asynchronous failure.
    func synchronize() throws

    /// Free and total device memory in bytes.
    func memoryInfo() throws -> (free: Int, total: Int)
}

/// A launch dimension (CUDA's dim3).
public struct LaunchSize: Sendable, Equatable, CustomStringConvertible {
    public var x: Int, y: Int, z: Int
    public init(_ x: Int, _ y: Int = 1, _ z: Int = 1) { (self.x, self.y, self.z) = (x, y, z) }
    public var count: Int { x * y * z }
    public var description: String { "(\(x), \(y), \(z))" }
}

/// One kernel parameter, passed by value as the kernel's C signature declares it.
public enum KernelArgument: Sendable, Equatable {
    /// A device address (`T *`).
    case pointer(UInt64)
    /// `int`.
    case int32(Int32)
    /// `long long`.
    case int64(Int64)
    /// `unsigned long long`.
    case uint64(UInt64)
    /// `float`.
    case float(Float)

    /// The argument's bytes, as cuLaunchKernel reads them through its `void **` array.
    public var bits: UInt64 {
        switch self {
        case let .pointer(value), let .uint64(value): return value
        case let .int32(value): return UInt64(UInt32(bitPattern: value))  // allowed: CUDA launch sizes and tensor counts of tensors allocated on the device, each far below 2^31; CUDA driver values widen
        case let .int64(value): return UInt64(bitPattern: value)
        case let .float(value): return UInt64(value.bitPattern)  // allowed: CUDA launch sizes and tensor counts of tensors allocated on the device, each far below 2^31; CUDA driver values widen
        }
    }
}

/// A batch of matrix products on row-major matrices:
/// for each item i, c[i] = alpha · op(a[i]) · op(b[i]) + beta · c[i], accumulated in f32.
/// a is [M, K] ([K, M] when transposed) with row length `lda`; b is [K, N] ([N, K] when transposed)
/// with row length `ldb`; c is f32 [M, N] with row length `ldc`. Strides are in elements between
/// items (0 shares one matrix across the batch). `a` and `b` have the same dtype: f32, bf16 or f16.
public struct GemmProblem: Sendable, Equatable {
    public var m: Int, n: Int, k: Int
    public var batch: Int
    public var transposeA: Bool, transposeB: Bool
    public var inputType: DType
    public var a: UInt64, lda: Int, strideA: Int
    public var b: UInt64, ldb: Int, strideB: Int
    public var c: UInt64, ldc: Int, strideC: Int
    public var alpha: Float, beta: Float

    public init(m: Int, n: Int, k: Int, batch: Int = 1, transposeA: Bool, transposeB: Bool, inputType: DType,
                a: UInt64, lda: Int, strideA: Int = 0, b: UInt64, ldb: Int, strideB: Int = 0,
                c: UInt64, ldc: Int, strideC: Int = 0, alpha: Float, beta: Float) {
        (self.m, self.n, self.k, self.batch) = (m, n, k, batch)
        (self.transposeA, self.transposeB, self.inputType) = (transposeA, transposeB, inputType)
        (self.a, self.lda, self.strideA) = (a, lda, strideA)
        (self.b, self.ldb, self.strideB) = (b, ldb, strideB)
        (self.c, self.ldc, self.strideC) = (c, ldc, strideC)
        (self.alpha, self.beta) = (alpha, beta)
    }
}
