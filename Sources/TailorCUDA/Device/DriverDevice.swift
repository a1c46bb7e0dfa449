#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CCUDA
import TailorTensor

/// A real NVIDIA GPU: the CUDA driver API (libcuda.so.1), cuBLAS for products and NVRTC for the
/// kernels, all loaded with dlopen. One primary context and one non-blocking stream; kernels are
/// compiled for the device's architecture on first use and cached on disk (`KernelCache`).
public final class DriverDevice: CUDADevice, @unchecked Sendable {
    public let name: String
    /// (major, minor), e.g. (9, 0) for an H100.
    public let computeCapability: (major: Int, minor: Int)
    public let driverVersion: Int
    public let multiprocessorCount: Int
    /// The GPU's PCI address as NVML names it ("00000000:01:00.0"), to find it there (`GPUUtilization`).
    public let pciBusID: String
    private let stream: UnsafeMutableRawPointer?
    private let blas: UnsafeMutableRawPointer?
    private let nvrtc: NVRTC
    private let cache = KernelCache()
    private let lock = Mutex()
    private var modules: [String: UnsafeMutableRawPointer] = [:]
    private var functions: [String: UnsafeMutableRawPointer] = [:]
    private var sharedAllowance: [String: Int] = [:]

    /// NVML's spelling of a PCI address: domain (8 hex digits), bus, device, function 0.
    static func pciBusID(domain: Int32, bus: Int32, device: Int32) -> String {
        func hex(_ value: Int32, _ digits: Int) -> String {
            let text = String(UInt32(bitPattern: value), radix: 16, uppercase: true)
            return String(repeating: "0", count: max(0, digits - text.count)) + text
        }
        return "\(hex(domain, 8)):\(hex(bus, 2)):\(hex(device, 2)).0"
    }

    /// Opens GPU `ordinal`.
    /// - Throws: `CUDAError.driverUnavailable` naming what was looked for when there is no driver,
    ///   no GPU, no cuBLAS or no NVRTC.
    public init(ordinal: Int = 0) throws {
        let driverPath = CUDALibraries.environment("TAILOR_LIBCUDA") ?? "libcuda.so.1"
        guard tailor_cuda_driver_load(driverPath) == 1 else {
            throw CUDAError.driverUnavailable("the NVIDIA driver library (\(driverPath)): \(String(cString: tailor_cuda_error())). A GPU machine has it from the NVIDIA driver; set TAILOR_LIBCUDA to its path if it is not on the library path")
        }
        try Self.check(tailor_cu_init(), "cuInit")
        var count: Int32 = 0
        try Self.check(tailor_cu_device_count(&count), "cuDeviceGetCount")
        guard ordinal < Int(count) else {  // allowed: CUDA launch sizes and tensor counts of tensors allocated on the device, each far below 2^31; CUDA driver values widen
            throw CUDAError.driverUnavailable("GPU \(ordinal): the driver reports \(count) GPU(s)")
        }
        var device: Int32 = 0, major: Int32 = 0, minor: Int32 = 0, version: Int32 = 0, multiprocessors: Int32 = 0
        try Self.check(tailor_cu_device_get(&device, Int32(ordinal)), "cuDeviceGet")  // allowed: CUDA launch sizes and tensor counts of tensors allocated on the device, each far below 2^31; CUDA driver values widen
        try Self.check(tailor_cu_device_attribute(&major, 75, device), "cuDeviceGetAttribute(compute capability major)")
        try Self.check(tailor_cu_device_attribute(&minor, 76, device), "cuDeviceGetAttribute(compute capability minor)")
        try Self.check(tailor_cu_device_attribute(&multiprocessors, 16, device), "cuDeviceGetAttribute(multiprocessor count)")
        try Self.check(tailor_cu_driver_version(&version), "cuDriverGetVersion")
        var domain: Int32 = 0, bus: Int32 = 0, slot: Int32 = 0
        try Self.check(tailor_cu_device_attribute(&domain, 50, device), "cuDeviceGetAttribute(PCI domain)")
        try Self.check(tailor_cu_device_attribute(&bus, 33, device), "cuDeviceGetAttribute(PCI bus)")
        try Self.check(tailor_cu_device_attribute(&slot, 34, device), "cuDeviceGetAttribute(PCI device)")
        self.pciBusID = Self.pciBusID(domain: domain, bus: bus, device: slot)
        var nameBytes = [CChar](repeating: 0, count: 256)
        try Self.check(tailor_cu_device_name(&nameBytes, 255, device), "cuDeviceGetName")
        var context: UnsafeMutableRawPointer?
        try Self.check(tailor_cu_primary_context(&context, device), "cuDevicePrimaryCtxRetain")
        try Self.check(tailor_cu_set_context(context), "cuCtxSetCurrent")
        var stream: UnsafeMutableRawPointer?
        try Self.check(tailor_cu_stream_create(&stream), "cuStreamCreate")
        let cublasPath = CUDALibraries.locate(["libcublas.so.13", "libcublas.so.12", "libcublas.so"])
        // libcublas needs libcublasLt from its own folder; load that first where it is known.
        if let slash = cublasPath.lastIndex(of: "/") {
            let folder = String(cublasPath[..<slash]), suffix = cublasPath.split(separator: ".").last.map(String.init) ?? "13"
            _ = dlopen("\(folder)/libcublasLt.so.\(suffix)", RTLD_NOW | RTLD_GLOBAL)
        }
        guard tailor_cublas_load(cublasPath) == 1 else {
            throw CUDAError.driverUnavailable("cuBLAS (\(cublasPath)): \(String(cString: tailor_cuda_error())). Install it with `python3 -m pip install nvidia-cublas` (PyTorch installs it) or set TAILOR_CUDA_LIBS to the folder holding libcublas.so.13")
        }
        var blas: UnsafeMutableRawPointer?
        let blasStatus = tailor_cublas_create(&blas, stream)
        guard blasStatus == 0 else {
            throw CUDAError.driverCall(call: "cublasCreate", result: Int(blasStatus), message: String(cString: tailor_cublas_status_string(blasStatus)))  // allowed: CUDA launch sizes and tensor counts of tensors allocated on the device, each far below 2^31; CUDA driver values widen
        }
        if CUDALibraries.environment("TAILOR_NVRTC") == nil {
            let found = CUDALibraries.locate(["libnvrtc.so.13", "libnvrtc.so.12", "libnvrtc.so"])
            if found.contains("/") { setenv("TAILOR_NVRTC", found, 0) }
        }
        self.nvrtc = try NVRTC.load()
        let deviceName = String(decoding: nameBytes.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        self.name = "\(deviceName) (sm_\(major)\(minor), \(multiprocessors) SMs)"
        self.computeCapability = (Int(major), Int(minor))  // allowed: CUDA launch sizes and tensor counts of tensors allocated on the device, each far below 2^31; CUDA driver values widen
        self.driverVersion = Int(version)  // allowed: CUDA launch sizes and tensor counts of tensors allocated on the device, each far below 2^31; CUDA driver values widen
        self.multiprocessorCount = Int(multiprocessors)  // allowed: CUDA launch sizes and tensor counts of tensors allocated on the device, each far below 2^31; CUDA driver values widen
        self.stream = stream
        self.blas = blas
    }

    static func check(_ result: Int32, _ call: String) throws {
        guard result == 0 else {
            throw CUDAError.driverCall(call: call, result: Int(result), message: String(cString: tailor_cu_result_string(result)))  // allowed: CUDA launch sizes and tensor counts of tensors allocated on the device, each far below 2^31; CUDA driver values widen
        }
    }

    // MARK: Memory

    public func allocate(byteCount: Int) throws -> UInt64 {
        var address: UInt64 = 0
        let result = tailor_cu_mem_alloc(&address, byteCount)
        if result == 2 { throw TensorError.allocationFailed(bytes: byteCount) }  // CUDA_ERROR_OUT_OF_MEMORY
        try Self.check(result, "cuMemAlloc(\(byteCount) bytes)")
        return address
    }

    public func free(_ address: UInt64) { _ = tailor_cu_mem_free(address) }

    public func copyToDevice(_ destination: UInt64, from source: UnsafeRawPointer, byteCount: Int) throws {
        try Self.check(tailor_cu_copy_to_device(destination, source, byteCount, stream), "cuMemcpyHtoDAsync")
    }

    public func copyToHost(_ destination: UnsafeMutableRawPointer, from source: UInt64, byteCount: Int) throws {
        try Self.check(tailor_cu_copy_to_host(destination, source, byteCount, stream), "cuMemcpyDtoHAsync")
    }

    public func copyOnDevice(_ destination: UInt64, from source: UInt64, byteCount: Int) throws {
        try Self.check(tailor_cu_copy_on_device(destination, source, byteCount, stream), "cuMemcpyDtoDAsync")
    }

    public func setBytes(_ destination: UInt64, to value: UInt8, byteCount: Int) throws {
        try Self.check(tailor_cu_set_bytes(destination, value, byteCount, stream), "cuMemsetD8Async")
    }

    public func synchronize() throws { try Self.check(tailor_cu_stream_synchronize(stream), "cuStreamSynchronize") }

    public func memoryInfo() throws -> (free: Int, total: Int) {
        var free = 0, total = 0
        try Self.check(tailor_cu_mem_info(&free, &total), "cuMemGetInfo")
        return (free, total)
    }

    // MARK: Kernels

    /// The architecture NVRTC compiles for: the device's own (compute_90 on an H100).
    public var architecture: String { "compute_\(computeCapability.major)\(computeCapability.minor)" }

    /// The CUfunction of `entry`, compiling and loading its source on first use.
    private func function(_ entry: String) throws -> UnsafeMutableRawPointer {
        if let known = lock.withLock({ functions[entry] }) { return known }
        guard let source = KernelSource.source(defining: entry) else { throw CUDAError.notBuilt("kernel \(entry)") }
        let module = try lock.withLock { () throws -> UnsafeMutableRawPointer in
            if let loaded = modules[source.name] { return loaded }
            let key = KernelCache.key(source, architecture: architecture, version: nvrtc.version)
            let ptx: String
            if let cached = cache.read(key) {
                ptx = cached
            } else {
                ptx = try nvrtc.compile(source, architecture: architecture)
                cache.write(key, ptx)
            }
            var module: UnsafeMutableRawPointer?
            try Self.check(tailor_cu_module_load(&module, ptx), "cuModuleLoadData(\(source.name))")
            guard let module else { throw CUDAError.driverCall(call: "cuModuleLoadData(\(source.name))", result: -1, message: "no module") }
            modules[source.name] = module
            return module
        }
        var function: UnsafeMutableRawPointer?
        try Self.check(tailor_cu_module_function(&function, module, entry), "cuModuleGetFunction(\(entry))")
        guard let function else { throw CUDAError.driverCall(call: "cuModuleGetFunction(\(entry))", result: -1, message: "no function") }
        lock.withLock { functions[entry] = function }
        return function
    }

    public func launch(_ kernel: String, grid: LaunchSize, block: LaunchSize, sharedBytes: Int, _ arguments: [KernelArgument]) throws {
        let function = try function(kernel)
        if sharedBytes > 48 << 10, lock.withLock({ sharedAllowance[kernel] ?? 0 }) < sharedBytes {
            try Self.check(tailor_cu_allow_shared_bytes(function, Int32(sharedBytes)), "cuFuncSetAttribute(\(kernel), \(sharedBytes) shared bytes)")  // allowed: CUDA launch sizes and tensor counts of tensors allocated on the device, each far below 2^31; CUDA driver values widen
            lock.withLock { sharedAllowance[kernel] = sharedBytes }
        }
        var slots = arguments.map(\.bits)
        let result = slots.withUnsafeMutableBufferPointer { values -> Int32 in
            var pointers: [UnsafeMutableRawPointer?] = (0..<values.count).map { UnsafeMutableRawPointer(values.baseAddress! + $0) }
            return pointers.withUnsafeMutableBufferPointer {
                tailor_cu_launch(function, UInt32(grid.x), UInt32(grid.y), UInt32(grid.z), UInt32(block.x), UInt32(block.y), UInt32(block.z),  // allowed: CUDA launch sizes and tensor counts of tensors allocated on the device, each far below 2^31; CUDA driver values widen
                                 UInt32(sharedBytes), stream, $0.baseAddress)  // allowed: CUDA launch sizes and tensor counts of tensors allocated on the device, each far below 2^31; CUDA driver values widen
            }
        }
        try Self.check(result, "cuLaunchKernel(\(kernel), grid \(grid), block \(block))")
    }

    /// Row-major products as cuBLAS's column-major ones: C = op(A)·op(B) row-major is
    /// Cᵀ = op(B)ᵀ·op(A)ᵀ column-major, so the operands swap and the shapes read (n, m, k).
    public func gemm(_ p: GemmProblem) throws {
        let type: Int32 = p.inputType == .bf16 ? 14 : p.inputType == .f16 ? 2 : 0
        var alpha = p.alpha, beta = p.beta
        let status = tailor_cublas_gemm(
            blas, p.transposeB ? 1 : 0, p.transposeA ? 1 : 0, Int32(p.n), Int32(p.m), Int32(p.k), &alpha,  // allowed: CUDA launch sizes and tensor counts of tensors allocated on the device, each far below 2^31; CUDA driver values widen
            UnsafeRawPointer(bitPattern: UInt(p.b)), type, Int32(p.ldb), Int64(p.strideB),  // allowed: CUDA launch sizes and tensor counts of tensors allocated on the device, each far below 2^31; CUDA driver values widen
            UnsafeRawPointer(bitPattern: UInt(p.a)), type, Int32(p.lda), Int64(p.strideA), &beta,  // allowed: CUDA launch sizes and tensor counts of tensors allocated on the device, each far below 2^31; CUDA driver values widen
            UnsafeMutableRawPointer(bitPattern: UInt(p.c)), Int32(p.ldc), Int64(p.strideC), Int32(p.batch))  // allowed: CUDA launch sizes and tensor counts of tensors allocated on the device, each far below 2^31; CUDA driver values widen
        guard status == 0 else {
            throw CUDAError.driverCall(call: "cublasGemmStridedBatchedEx(m \(p.m), n \(p.n), k \(p.k), batch \(p.batch), \(p.inputType))",
                                       result: Int(status), message: String(cString: tailor_cublas_status_string(status)))  // allowed: CUDA launch sizes and tensor counts of tensors allocated on the device, each far below 2^31; CUDA driver values widen
        }
    }
}
