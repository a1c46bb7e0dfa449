import ArgumentParser
import Foundation
import TailorAdapters
import TailorFormats
import TailorJSON
import TailorModels
import TailorTensor

struct BenchMergeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "merge",
        abstract: "Measure the memory of `tailor merge`: a preset with random weights and a random LoRA adapter, merged in a child process.",
        discussion: """
        Writes a base folder with random weights in --dtype and a random adapter (rank --r, all linear \
        layers, A and B nonzero) into a temporary folder under --dir, then runs `<merge-binary> merge` on \
        them and samples the child's /proc/PID/status every few milliseconds until it exits. Prints the \
        peak anonymous memory (RssAnon: what the merge allocates) and, apart, the peak of mapped file \
        pages (RssFile: the base's safetensors read through the mapping, which the kernel can drop), \
        the largest tensor in f32 and the ratio of the two; text, then one JSON line. The folders are \
        removed afterwards. Linux only; use a release build.
        """
    )

    @Option(help: "Model preset: \(ModelPresets.names.joined(separator: ", ")).")
    var preset: String = "qwen2.5-1.5b"

    @Option(help: "Base weight storage: bf16, f16 or f32.")
    var dtype: String = "bf16"

    @Option(help: "LoRA rank.")
    var r: Int = 16

    @Option(help: "Folder for the temporary base, adapter and merged folders (needs about 2 × the model's size; default: the system's temporary folder).")
    var dir: String?

    @Option(help: "The tailor executable whose merge is measured (default: this one).")
    var mergeBinary: String?

    func validate() throws {
        guard r > 0 else { throw ValidationError("--r must be positive") }
        guard ["bf16", "f16", "f32"].contains(dtype) else { throw ValidationError("--dtype must be bf16, f16 or f32") }
    }

    func run() async throws {
        let config = try ModelPresets.config(named: preset)
        let storage: DType = dtype == "bf16" ? .bf16 : dtype == "f16" ? .f16 : .f32
        let work = URL(fileURLWithPath: dir ?? NSTemporaryDirectory()).appendingPathComponent("tailor-bench-merge-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: work) }
        let base = work.appendingPathComponent("base"), adapter = work.appendingPathComponent("adapter")
        let merged = work.appendingPathComponent("merged")
        var largest = 0
        do {  // the model is released before the merge runs
            let backend = try CPUBackend()
            let model = try CausalLM.random(config: config, backend: backend, seed: 0, dtype: storage)
            largest = model.namedParameters.map { $0.tensor.count * 4 }.max() ?? 0
            try ModelFolderWriter.write(model, baseFolder: nil, to: base)
            try config.huggingFaceJSON(dtype: storage == .bf16 ? "bfloat16" : storage == .f16 ? "float16" : "float32")
                .write(to: base.appendingPathComponent("config.json"))
            var generator = SplitMix64(state: 1)
            let adapters = try LoRAAdapters.make(for: model, config: LoRAConfig(r: r, loraAlpha: Double(2 * r), targetModules: .allLinear)) { _, shape in
                (0..<shape.reduce(1, *)).map { _ in generator.nextFloat() * 0.02 - 0.01 }
            }
            try PeftAdapterWriter.write(adapters, backend: backend, to: adapter, baseModel: preset)
        }
        let binary = mergeBinary ?? URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().path
        let child = Process()
        child.executableURL = URL(fileURLWithPath: binary)
        child.arguments = ["merge", "--model", base.path, "--adapter", adapter.path, "--output", merged.path]
        child.standardOutput = FileHandle.nullDevice
        let start = monotonicSeconds()
        try child.run()
        var peak = MemorySample()
        while child.isRunning {
            if let sample = MemorySample(pid: child.processIdentifier) { peak = peak.max(sample) }
            usleep(2_000)
        }
        let seconds = monotonicSeconds() - start
        guard child.terminationStatus == 0 else {
            throw ValidationError("\(binary) merge exited with status \(child.terminationStatus)")
        }
        let gb = { (bytes: Int) in Double(bytes) / 1e9 }
        let ratio = Double(peak.anon) / Double(max(largest, 1))
        print("tailor bench merge: \(preset), \(dtype) base, LoRA r \(r) on all linear layers, \(binary)")
        printCPUHeader()
        print("  merge         \(fmt(seconds, 1)) s")
        print("  peak anon     \(fmt(gb(peak.anon), 3)) GB  (RssAnon)")
        print("  peak file     \(fmt(gb(peak.file), 3)) GB  (RssFile: mapped file pages, reported apart)")
        print("  peak RSS      \(fmt(gb(peak.hwm), 3)) GB  (VmHWM, anon + file)")
        print("  largest f32   \(fmt(gb(largest), 3)) GB  (the largest tensor in f32)")
        print("  anon ÷ f32    \(fmt(ratio, 2))×")
        let line: JSONValue = [
            "tool": "tailor", "bench": "merge", "preset": .string(preset), "dtype": .string(dtype), "r": .int(r),
            "merge_s": rounded(seconds, 1), "peak_anon_gb": rounded(gb(peak.anon), 3), "peak_file_gb": rounded(gb(peak.file), 3),
            "peak_rss_gb": rounded(gb(peak.hwm), 3), "largest_tensor_f32_gb": rounded(gb(largest), 3),
            "anon_over_largest_f32": rounded(ratio, 2),
        ]
        print(line.text(.python))
    }
}

/// RssAnon, RssFile and VmHWM of a process, in bytes, from /proc/PID/status.
struct MemorySample {
    var anon = 0, file = 0, hwm = 0

    init() {}

    /// Nil when the status cannot be read (the process has exited).
    init?(pid: Int32) {
        guard let fields = procFieldBytes("/proc/\(pid)/status"), let anon = fields["RssAnon"] else { return nil }
        self.anon = anon
        file = fields["RssFile"] ?? 0
        hwm = fields["VmHWM"] ?? 0
    }

    func max(_ other: MemorySample) -> MemorySample {
        var result = MemorySample()
        result.anon = Swift.max(anon, other.anon)
        result.file = Swift.max(file, other.file)
        result.hwm = Swift.max(hwm, other.hwm)
        return result
    }
}
