#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Where the CUDA libraries are looked for: the driver's libcuda.so.1 on the library path, and
/// cuBLAS / NVRTC from a CUDA toolkit or the `nvidia-*` pip wheels PyTorch installs.
public enum CUDALibraries {
    /// Folders searched for cuBLAS and NVRTC, in order: TAILOR_CUDA_LIBS (a colon-separated
    /// list), the folder of TAILOR_NVRTC, pip's nvidia wheels under the usual Python prefixes,
    /// then the CUDA toolkit.
    public static func searchFolders() -> [String] {
        var folders: [String] = []
        if let list = environment("TAILOR_CUDA_LIBS") { folders += list.split(separator: ":").map(String.init) }
        if let nvrtc = environment("TAILOR_NVRTC"), let slash = nvrtc.lastIndex(of: "/") { folders.append(String(nvrtc[..<slash])) }
        let home = environment("HOME") ?? "/root"
        let prefixes = ["/usr/local/lib/python3*/dist-packages", "/usr/local/lib/python3*/site-packages", "/usr/lib/python3/dist-packages",
                        "/usr/lib/python3*/site-packages", "/opt/conda/lib/python3*/site-packages", "\(home)/.local/lib/python3*/site-packages",
                        "\(home)/.pyenv/versions/*/lib/python3*/site-packages", "/opt/*/lib/python3*/site-packages"]
        for prefix in prefixes {
            for wheel in ["nvidia/cu13/lib", "nvidia/cublas/lib", "nvidia/cuda_nvrtc/lib"] { folders += glob("\(prefix)/\(wheel)") }
        }
        folders += glob("/usr/local/cuda*/lib64") + glob("/usr/local/cuda*/targets/x86_64-linux/lib")
        var seen = Set<String>()
        return folders.filter { seen.insert($0).inserted }
    }

    /// The first `names` file found in `searchFolders()`, else the bare soname (for dlopen's own search).
    public static func locate(_ names: [String]) -> String {
        for folder in searchFolders() {
            for name in names where access("\(folder)/\(name)", R_OK) == 0 { return "\(folder)/\(name)" }
        }
        return names[0]
    }

    static func environment(_ name: String) -> String? {
        guard let value = getenv(name) else { return nil }
        let text = String(cString: value)
        return text.isEmpty ? nil : text
    }

    static func glob(_ pattern: String) -> [String] {
        #if canImport(Glibc)
        var result = glob_t()
        defer { globfree(&result) }
        guard Glibc.glob(pattern, 0, nil, &result) == 0 else { return [] }
        return (0..<Int(result.gl_pathc)).compactMap { result.gl_pathv[$0].map { String(cString: $0) } }  // allowed: CUDA launch sizes and tensor counts of tensors allocated on the device, each far below 2^31; CUDA driver values widen
        #else
        return []
        #endif
    }
}
