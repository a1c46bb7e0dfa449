import ArgumentParser
import Dispatch
import Foundation
import TailorInference
import TailorJSON
import TailorModels
import TailorTensor

struct BenchGenerateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Time generation with the KV cache: prefill and decode tokens/s against the memory-bandwidth limit.",
        discussion: """
        Builds a model with random weights from a preset's config (no download), stored in --dtype \
        (bf16 = as checkpoints ship, widened per GEMM), and generates greedily from a random prompt \
        with eos off, as ../shared/bench/peer_hf_generate.py does with transformers. Prints prefill \
        tokens/s (prompt tokens ÷ prefill time), decode tokens/s (tokens after the first ÷ their \
        time), peak RSS, and the decode limit set by memory bandwidth: bytes of weights read per \
        token ÷ the read bandwidth measured in the same run. Text, then one JSON line. Use a release build.
        """
    )

    @Option(help: "Model preset: \(ModelPresets.names.joined(separator: ", ")).")
    var preset: String = "smollm2-135m"

    @Option(help: "Weight storage: f32 or bf16.")
    var dtype: String = "f32"

    @Option(help: "How products with bf16 weights (--dtype bf16) run: bf16 (activations rounded to bf16, f32 accumulation, on oneDNN's AMX or AVX512-BF16 kernels; fp32 on a CPU with neither, saying so) or fp32.")
    var matmul: MatmulPrecision = .halfInputs

    @Option(parsing: .unconditional, help: "Prompt tokens.")
    var promptTokens: Int = 128

    @Option(parsing: .unconditional, help: "New tokens per timed run.")
    var newTokens: Int = 64

    @Option(parsing: .unconditional, help: "Timed runs (after one warm-up); the best is reported.")
    var runs: Int = 2

    @Flag(help: "Also print the time spent in each backend operation. Default: off.")
    var profile = false

    func validate() throws {
        guard ["f32", "bf16"].contains(dtype) else { throw ValidationError("--dtype must be f32 or bf16 (got \(dtype))") }
        guard promptTokens > 0, newTokens > 1, runs > 0 else { throw ValidationError("--prompt-tokens, --runs must be positive and --new-tokens at least 2") }
    }

    func run() async throws {
        var config = try ModelPresets.config(named: preset)
        config.maxPositionEmbeddings = max(config.maxPositionEmbeddings, promptTokens + newTokens)
        let storage: DType = dtype == "bf16" ? .bf16 : .f32
        let cpu = try CPUBackend(kernels: .fast, matmul: matmul, batchInvariant: true)  // as tailor generate runs
        let products = storage == .bf16 && cpu.matmul == .halfInputs ? "bf16" : "fp32"
        let profiler = profile ? ProfilingBackend(cpu) : nil
        let backend: Backend = profiler ?? cpu
        let model = try CausalLM.random(config: config, backend: backend, seed: 0, dtype: storage)
        let generator = Generator(model: model)
        var state = UInt64(42)
        let prompt: [Int32] = (0..<promptTokens).map { _ in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int32(truncatingIfNeeded: (state >> 33) % UInt64(config.vocabSize))  // allowed: vocab_size is positive; widens
        }
        var parameters = GenerationParameters()
        parameters.maxNewTokens = newTokens
        _ = try generator.generate(prompts: [prompt], parameters: { var p = parameters; p.maxNewTokens = 2; return p }())
        profiler?.reset()
        var best = GenerationStats()
        for _ in 0..<runs {
            _ = try generator.generate(prompts: [prompt], parameters: parameters)
            let s = generator.lastStats
            if best.prefillSeconds == 0 || s.prefillSeconds < best.prefillSeconds { best.prefillSeconds = s.prefillSeconds; best.prefillTokens = s.prefillTokens }
            if best.decodeSeconds == 0 || s.decodeTokensPerSecond > best.decodeTokensPerSecond { best.decodeSeconds = s.decodeSeconds; best.decodeTokens = s.decodeTokens }
        }
        let rss = Double(peakResidentBytes()) / 1e9
        let bandwidth = measureReadBandwidth(threads: cpu.threadCount)   // bytes/s
        let bytesPerToken = Double(decodeBytesPerToken(config, weightBytes: storage.byteSize, context: promptTokens + newTokens / 2))
        let limit = bandwidth / bytesPerToken
        let decode = best.decodeTokensPerSecond
        print("tailor bench generate: \(preset), \(dtype) weights, prompt \(promptTokens), \(newTokens) new tokens, \(cpu.threadCount) threads,"
              + " \(products) products")
        printCPUHeader()
        if let why = cpu.matmulFallback, storage == .bf16 { print("  note      --matmul bf16 runs fp32 here: \(why.reason)") }
        print("  prefill   \(fmt(best.prefillTokensPerSecond, 1)) tok/s  (\(fmt(best.prefillSeconds, 3)) s)")
        print("  decode    \(fmt(decode, 1)) tok/s  (\(fmt(100 * decode / limit, 1))% of the bandwidth limit \(fmt(limit, 1)) tok/s = \(fmt(bandwidth / 1e9, 1)) GB/s ÷ \(fmt(bytesPerToken / 1e6, 1)) MB/token)")
        print("  peak RSS  \(fmt(rss, 2)) GB")
        if let profiler {
            let total = profiler.report.reduce(0) { $0 + $1.seconds }
            print("  profile (\(runs) runs):")
            for entry in profiler.report.prefix(14) {
                print("    \(pad(entry.op, 18)) \(fmt(entry.seconds, 3)) s  \(fmt(100 * entry.seconds / total, 1))%  \(entry.calls) calls")
            }
        }
        let line: JSONValue = [
            "tool": "tailor", "bench": "generate", "preset": .string(preset), "dtype": .string(dtype), "products": .string(products),
            "prompt": .int(promptTokens), "new": .int(newTokens), "threads": .int(cpu.threadCount),
            "prefill_tokens_per_s": rounded(best.prefillTokensPerSecond, 1), "decode_tokens_per_s": rounded(decode, 1),
            "bandwidth_gb_s": rounded(bandwidth / 1e9, 2), "bandwidth_limit_tokens_per_s": rounded(limit, 1),
            "peak_rss_gb": rounded(rss, 2),
        ]
        print(line.text(.python))
    }

    /// Bytes one decode step reads: every layer matrix, the output layer, the norms, one embedding
    /// row, and the KV cache at `context` tokens (f32).
    func decodeBytesPerToken(_ c: ModelConfig, weightBytes: Int, context: Int) -> Int {
        let perLayer = c.hiddenSize * c.qDim + 2 * c.hiddenSize * c.kvDim + c.qDim * c.hiddenSize + 3 * c.hiddenSize * c.intermediateSize
        let matrices = c.layerCount * perLayer + c.vocabSize * c.hiddenSize
        let cache = 2 * c.layerCount * context * c.kvDim * 4
        return matrices * weightBytes + cache + c.hiddenSize * weightBytes
    }

    /// Read bandwidth over a 512 MB buffer with `threads` threads (best of 3 passes), bytes/s.
    func measureReadBandwidth(threads: Int) -> Double {
        let count = 128 << 20   // floats
        let buffer = UnsafeMutablePointer<Float>.allocate(capacity: count)
        defer { buffer.deallocate() }
        buffer.initialize(repeating: 1, count: count)
        let chunk = count / threads
        var best = 0.0
        let sums = UnsafeMutablePointer<Float>.allocate(capacity: threads)
        defer { sums.deallocate() }
        for _ in 0..<3 {
            let start = monotonicSeconds()
            nonisolated(unsafe) let buffer = buffer, sums = sums
            DispatchQueue.concurrentPerform(iterations: threads) { t in
                let base = UnsafeRawPointer(buffer + t * chunk)
                var acc = SIMD16<Float>()
                var i = 0
                while i + 16 <= chunk {
                    acc += base.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self)
                    i += 16
                }
                sums[t] = acc.sum()
            }
            let seconds = monotonicSeconds() - start
            best = max(best, Double(chunk * threads * 4) / seconds)
        }
        return best
    }
}
