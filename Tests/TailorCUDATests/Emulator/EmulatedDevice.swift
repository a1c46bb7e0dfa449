import Foundation
import TailorCUDA
import TailorTensor

/// A `CUDADevice` on the host: the backend's CUDA C kernels compiled with the toolchain's clang++
/// against `EmulatorPrelude` and run by its fiber scheduler; device memory is host memory and
/// matrix products are plain loops (standing in for cuBLAS). Lets every CUDA backend test run on
/// CI machines, which have no GPU.
final class EmulatedDevice: CUDADevice, @unchecked Sendable {
    let name = "host emulation of CUDA"
    /// An H100's count, so grid sizes match the real device's.
    let multiprocessorCount = 132
    private let library: UnsafeMutableRawPointer
    private typealias LaunchFunction = @convention(c) (UnsafePointer<CChar>, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32,
                                                       UInt64, UnsafeMutablePointer<UnsafeMutableRawPointer?>,
                                                       UnsafeMutablePointer<CChar>, Int32) -> Int32
    private let launchFunction: LaunchFunction
    /// One launch at a time: the emulator's scheduler state is global.
    private let lock = NSLock()

    enum EmulatorError: Error, CustomStringConvertible {
        case noCompiler
        case compileFailed(String)
        case loadFailed(String)
        case launchFailed(String)
        var description: String {
            switch self {
            case .noCompiler: return "no clang++ on PATH to compile the CUDA kernels for the host"
            case let .compileFailed(log): return "the CUDA kernels did not compile for the host emulator:\n\(log)"
            case let .loadFailed(detail): return "cannot load the emulated kernels: \(detail)"
            case let .launchFailed(detail): return "emulated kernel failed: \(detail)"
            }
        }
    }

    /// One emulator per test process: compiling the kernels takes seconds.
    nonisolated(unsafe) private static var shared: EmulatedDevice?
    nonisolated(unsafe) private static var builds = 0
    private static let sharedLock = NSLock()

    static func make() throws -> EmulatedDevice {
        sharedLock.lock()
        defer { sharedLock.unlock() }
        if let shared { return shared }
        let device = try EmulatedDevice(sources: KernelSource.all)
        shared = device
        return device
    }

    /// The C++ translation unit: the emulator prelude, each source in its own namespace, the launch table.
    static func translationUnit(_ sources: [KernelSource]) -> String {
        var code = EmulatorPrelude.header
        var entries: [(namespace: String, entry: String)] = []
        for source in sources {
            let namespace = "tailor_source_\(source.name.replacingOccurrences(of: "-", with: "_"))"
            code += "namespace \(namespace) {\n\(source.fullCode)\n}\n"
            entries += source.entries.map { (namespace, $0) }
        }
        return code + EmulatorPrelude.launchTable(entries: entries)
    }

    init(sources: [KernelSource]) throws {
        let code = Self.translationUnit(sources)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("tailor-cuda-emulator-\(getpid())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        // A file per build: dlopen would hand back an earlier library loaded from the same path.
        Self.builds += 1
        let stem = "kernels-\(Self.builds)"
        let sourceURL = directory.appendingPathComponent("\(stem).cpp"), libraryURL = directory.appendingPathComponent("\(stem).so")
        try code.write(to: sourceURL, atomically: true, encoding: .utf8)
        guard let compiler = Self.findCompiler() else { throw EmulatorError.noCompiler }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: compiler)
        process.arguments = ["-std=c++17", "-O1", "-g0", "-shared", "-fPIC", "-Wno-unused-function", "-Wno-unused-variable",
                             "-o", libraryURL.path, sourceURL.path]
        let errors = Pipe()
        process.standardError = errors
        try process.run()
        let log = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw EmulatorError.compileFailed(String(log.prefix(6000))) }
        guard let handle = dlopen(libraryURL.path, RTLD_NOW | RTLD_LOCAL) else {
            throw EmulatorError.loadFailed(String(cString: dlerror()))
        }
        guard let symbol = dlsym(handle, "tailor_emu_launch") else { throw EmulatorError.loadFailed("no tailor_emu_launch") }
        library = handle
        launchFunction = unsafeBitCast(symbol, to: LaunchFunction.self)
    }

    static func findCompiler() -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin"
        for directory in path.split(separator: ":") {
            let candidate = "\(directory)/clang++"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }

    // MARK: Memory: host memory, addresses as integers

    func allocate(byteCount: Int) throws -> UInt64 {
        guard byteCount > 0, let pointer = aligned_alloc(256, (byteCount + 255) / 256 * 256) else {
            throw TensorError.allocationFailed(bytes: byteCount)
        }
        memset(pointer, 0xff, byteCount)  // NaN: reading memory nothing wrote shows up in results
        return UInt64(UInt(bitPattern: pointer))
    }

    func free(_ address: UInt64) {
        Foundation.free(UnsafeMutableRawPointer(bitPattern: UInt(address)))
    }

    private func host(_ address: UInt64) -> UnsafeMutableRawPointer { UnsafeMutableRawPointer(bitPattern: UInt(address))! }

    func copyToDevice(_ destination: UInt64, from source: UnsafeRawPointer, byteCount: Int) throws {
        host(destination).copyMemory(from: source, byteCount: byteCount)
    }

    func copyToHost(_ destination: UnsafeMutableRawPointer, from source: UInt64, byteCount: Int) throws {
        destination.copyMemory(from: host(source), byteCount: byteCount)
    }

    func copyOnDevice(_ destination: UInt64, from source: UInt64, byteCount: Int) throws {
        memmove(host(destination), host(source), byteCount)
    }

    func setBytes(_ destination: UInt64, to value: UInt8, byteCount: Int) throws {
        memset(host(destination), Int32(value), byteCount)
    }

    func synchronize() throws {}

    func memoryInfo() throws -> (free: Int, total: Int) { (1 << 34, 1 << 34) }

    // MARK: Kernels

    func launch(_ kernel: String, grid: LaunchSize, block: LaunchSize, sharedBytes: Int, _ arguments: [KernelArgument]) throws {
        var slots = arguments.map(\.bits)
        var error = [CChar](repeating: 0, count: 1024)
        let result = slots.withUnsafeMutableBufferPointer { values -> Int32 in
            var pointers: [UnsafeMutableRawPointer?] = (0..<values.count).map { UnsafeMutableRawPointer(values.baseAddress! + $0) }
            if pointers.isEmpty { pointers = [nil] }
            return lock.withLock {
                launchFunction(kernel, UInt32(grid.x), UInt32(grid.y), UInt32(grid.z), UInt32(block.x), UInt32(block.y),
                                      UInt32(block.z), UInt64(sharedBytes), &pointers, &error, Int32(error.count))
            }
        }
        guard result == 0 else { throw EmulatorError.launchFailed(error.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }) }
    }

    /// The products cuBLAS computes, as plain loops with f32 accumulation.
    func gemm(_ p: GemmProblem) throws {
        func load(_ base: UInt64, _ index: Int) -> Float {
            switch p.inputType {
            case .bf16: return HalfPrecision.bf16ToFloat(host(base).assumingMemoryBound(to: UInt16.self)[index])
            case .f16: return HalfPrecision.f16ToFloat(host(base).assumingMemoryBound(to: UInt16.self)[index])
            default: return host(base).assumingMemoryBound(to: Float.self)[index]
            }
        }
        let c = host(p.c).assumingMemoryBound(to: Float.self)
        for item in 0..<p.batch {
            for i in 0..<p.m {
                for j in 0..<p.n {
                    var sum: Float = 0
                    for q in 0..<p.k {
                        let av = load(p.a, item * p.strideA + (p.transposeA ? q * p.lda + i : i * p.lda + q))
                        let bv = load(p.b, item * p.strideB + (p.transposeB ? j * p.ldb + q : q * p.ldb + j))
                        sum += av * bv
                    }
                    let index = item * p.strideC + i * p.ldc + j
                    c[index] = p.alpha * sum + (p.beta == 0 ? 0 : p.beta * c[index])
                }
            }
        }
    }
}
