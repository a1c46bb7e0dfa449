#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Compiled kernels (PTX) on disk, so NVRTC runs once per source, architecture and NVRTC version:
/// $TAILOR_KERNEL_CACHE, else $XDG_CACHE_HOME/tailor/kernels, else ~/.cache/tailor/kernels.
/// Files are written atomically (temp + rename); an unreadable or unwritable cache only costs a compile.
struct KernelCache {
    let folder: String

    init() {
        if let explicit = CUDALibraries.environment("TAILOR_KERNEL_CACHE") {
            folder = explicit
        } else if let xdg = CUDALibraries.environment("XDG_CACHE_HOME") {
            folder = "\(xdg)/tailor/kernels"
        } else {
            folder = "\(CUDALibraries.environment("HOME") ?? "/tmp")/.cache/tailor/kernels"
        }
    }

    /// The file name for a source compiled for `architecture` by NVRTC `version`.
    static func key(_ source: KernelSource, architecture: String, version: (major: Int, minor: Int)) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325  // FNV-1a
        for byte in (source.fullCode + architecture + "\(version.major).\(version.minor)").utf8 {
            hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3  // allowed: CUDA launch sizes and tensor counts of tensors allocated on the device, each far below 2^31; CUDA driver values widen
        }
        let hex = String(hash, radix: 16)
        return "\(source.name)-\(architecture)-\(String(repeating: "0", count: 16 - hex.count))\(hex).ptx"
    }

    func read(_ key: String) -> String? {
        guard let file = fopen("\(folder)/\(key)", "rb") else { return nil }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = fread(&buffer, 1, buffer.count, file)
            if count <= 0 { break }
            bytes += buffer[0..<count]
        }
        return bytes.isEmpty ? nil : String(decoding: bytes, as: UTF8.self)
    }

    func write(_ key: String, _ text: String) {
        var path = ""
        for component in folder.split(separator: "/") {
            path += "/\(component)"
            mkdir(path, 0o755)
        }
        let temporary = "\(folder)/.\(key).\(getpid()).tmp"
        guard let file = fopen(temporary, "wb") else { return }
        let bytes = Array(text.utf8)
        let written = fwrite(bytes, 1, bytes.count, file)
        let closed = fclose(file)
        if written == bytes.count && closed == 0 {
            rename(temporary, "\(folder)/\(key)")
        } else {
            unlink(temporary)
        }
    }
}
