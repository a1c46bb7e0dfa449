import ArgumentParser
import TailorAdapters
import TailorJSON
import TailorModels
import TailorTensor
import TailorTraining

struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure Tailor's speed: training and generation on built-in model presets (random weights, no download), tokenizing on a corpus; the memory of a merge; the data-parallel all-reduce.",
        subcommands: [BenchStepCommand.self, BenchTrainCommand.self, BenchGenerateCommand.self, BenchTokenizeCommand.self,
                      BenchMergeCommand.self, BenchAllReduceCommand.self]
    )
}

struct BenchStepCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "step",
        abstract: "Time training steps with the base frozen (forward + input gradients: what LoRA costs).",
        discussion: """
        Runs forward, chunked cross-entropy over every token and the backward down to the embeddings,
        computing no weight gradients, on a model with random f32 weights built from a preset's config.
        Prints tokens/s, achieved GFLOP/s, the fraction of an sgemm rate measured in the same run,
        and peak RSS, as text and as one JSON line. Use a release build.
        """
    )

    @Option(help: "Model preset: \(ModelPresets.names.joined(separator: ", ")).")
    var preset: String = "smollm2-135m"

    @Option(parsing: .unconditional, help: "Rows per batch.")
    var batch: Int = 4

    @Option(parsing: .unconditional, help: "Tokens per row.")
    var seq: Int = 256

    @Option(parsing: .unconditional, help: "Timed steps (after one warm-up step); the median is reported.")
    var steps: Int = 5

    @Flag(help: "Keep only layer inputs and recompute activations in the backward.")
    var gradientCheckpointing = false

    @Flag(help: "Also print the time spent in each backend operation (timed steps only).")
    var profile = false

    func validate() throws {
        guard batch > 0, seq > 1, steps > 0 else { throw ValidationError("--batch, --seq and --steps must be positive (--seq at least 2)") }
    }

    func run() async throws {
        let config = try ModelPresets.config(named: preset)
        let cpu = try CPUBackend(kernels: .fast)
        let gemmRate = try cpu.measureGemmRate()
        let profiler = profile ? ProfilingBackend(cpu) : nil
        let backend: Backend = profiler ?? cpu
        let model = try CausalLM.random(config: config, backend: backend, seed: 0)
        model.gradientCheckpointing = gradientCheckpointing
        let tokens = try benchmarkBatch(config, rows: batch, length: seq)
        let frozen = GradientStore()  // no weight gradients: the base is frozen
        var loss = 0.0
        let times = try timedSteps(steps, afterWarmUp: { profiler?.reset() }) {
            loss = try model.forwardBackward(tokens, gradients: frozen).loss
        }
        let median = times.sorted()[times.count / 2]
        let tokenCount = Double(batch * seq)
        let flops = config.frozenStepFlopsPerToken(sequenceLength: seq) * tokenCount
        let achieved = flops / median / 1e9
        let rss = Double(peakResidentBytes()) / 1e9
        print("tailor bench step: \(preset), B\(batch)×T\(seq), \(cpu.threadCount) threads, f32, checkpointing \(gradientCheckpointing ? "on" : "off")")
        printCPUHeader()
        print("  step      \(fmt(median, 3)) s (median of \(steps); min \(fmt(times.min()!, 3)) s)")
        print("  tokens/s  \(fmt(tokenCount / median, 1))")
        print("  GFLOP/s   \(fmt(achieved, 1))  (\(fmt(100 * achieved / gemmRate, 1))% of the \(fmt(gemmRate, 1)) GFLOP/s sgemm measured now)")
        print("  peak RSS  \(fmt(rss, 2)) GB")
        print("  loss      \(fmt(loss, 4))")
        if let profiler {
            let total = profiler.report.reduce(0) { $0 + $1.seconds }
            print("  profile (per step):")
            for entry in profiler.report.prefix(16) {
                print("    \(pad(entry.op, 18)) \(fmt(entry.seconds / Double(steps), 3)) s  \(fmt(100 * entry.seconds / total, 1))%  \(entry.calls / steps) calls")
            }
        }
        let line: JSONValue = [
            "tool": "tailor", "bench": "step", "preset": .string(preset), "batch": .int(batch), "seq": .int(seq),
            "tokens_per_s": rounded(tokenCount / median, 1), "step_s": rounded(median, 3),
            "gflops": rounded(achieved, 1), "sgemm_gflops": rounded(gemmRate, 1), "peak_rss_gb": rounded(rss, 2),
            "loss": rounded(loss, 4),
        ]
        print(line.text(.python))
    }
}

/// `rows` rows of `length` pseudo-random token ids (a fixed LCG), every token labelled.
func benchmarkBatch(_ config: ModelConfig, rows: Int, length: Int) throws -> TokenBatch {
    var generator = UInt64(42)
    let sequences: [(ids: [Int32], labels: [Int32])] = (0..<rows).map { _ in
        let ids: [Int32] = (0..<length).map { _ in
            generator = generator &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int32(truncatingIfNeeded: (generator >> 33) % UInt64(config.vocabSize))  // allowed: vocab_size is positive; widens
        }
        return (ids, ids)
    }
    return try TokenBatch(sequences: sequences)
}

/// Runs `step` once to warm up, calls `afterWarmUp`, then times `count` more runs (seconds each).
func timedSteps(_ count: Int, afterWarmUp: () -> Void = {}, _ step: () throws -> Void) rethrows -> [Double] {
    try step()
    afterWarmUp()
    return try (0..<count).map { _ in
        let start = monotonicSeconds()
        try step()
        return monotonicSeconds() - start
    }
}

/// A number with `digits` decimals.
/// The CPU and the path chosen for it (GEMM library and core, threads, bf16), under a bench header.
func printCPUHeader() {
    let cpu = CPUReport.current()
    print("  cpu       \(cpu.features.summary)")
    print("  path      \(cpu.pathSummary)")
}

func fmt(_ value: Double, _ digits: Int) -> String {
    if digits <= 0 { return String(Int(value.rounded())) }  // allowed: benchmark timings are finite and small
    var scale = 1.0
    for _ in 0..<digits { scale *= 10 }
    let rounded = (value * scale).rounded() / scale
    var text = "\(rounded)"
    if let dot = text.firstIndex(of: ".") {
        let decimals = text.distance(from: dot, to: text.endIndex) - 1
        if decimals < digits { text += String(repeating: "0", count: digits - decimals) }
    } else if digits > 0 {
        text += "." + String(repeating: "0", count: digits)
    }
    return text
}

/// `value` rounded to `digits` decimals, as the peers' JSON lines hold `round(value, digits)`.
func rounded(_ value: Double, _ digits: Int) -> JSONValue {
    var scale = 1.0
    for _ in 0..<digits { scale *= 10 }
    return .double((value * scale).rounded() / scale)
}

/// `text` padded with spaces to `width` characters.
func pad(_ text: String, _ width: Int) -> String {
    text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
}

struct BenchTrainCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Time real training steps (LoRA r 16 on all linear layers, or full fine-tuning; AdamW) on a preset with random weights.",
        discussion: """
        The end-to-end figure: forward, chunked cross-entropy over every token, backward with LoRA
        gradients, global-norm clipping and an AdamW step, as `tailor train` runs them. `bench step`
        is the engine-only figure. Prints tokens/s, the median step time and peak RSS, as text and as
        one JSON line. Use a release build.
        """
    )

    @Option(help: "Model preset: \(ModelPresets.names.joined(separator: ", ")).")
    var preset: String = "smollm2-135m"

    @Option(parsing: .unconditional, help: "Rows per batch.")
    var batch: Int = 4

    @Option(parsing: .unconditional, help: "Tokens per row.")
    var seq: Int = 256

    @Option(parsing: .unconditional, help: "Timed steps (after one warm-up step); the median is reported.")
    var steps: Int = 5

    @Option(parsing: .unconditional, help: "LoRA rank.")
    var r: Int = 16

    @Option(help: "What is trained: lora (rank --r on every linear layer), qlora (the same on linears stored in nf4 with double quantization) or full (every parameter, in f32).")
    var method: String = "lora"

    @Option(help: "How the frozen weights are stored (f32 or bf16; with qlora, the ones left unquantized).")
    var dtype: String = "f32"

    @Option(help: "How products with bf16 frozen weights (--dtype bf16) run: bf16 (activations rounded to bf16, f32 accumulation, on oneDNN's AMX or AVX512-BF16 kernels; fp32 on a CPU with neither, saying so) or fp32.")
    var matmul: MatmulPrecision = .halfInputs

    @Flag(help: "Keep only layer inputs and recompute activations in the backward.")
    var gradientCheckpointing = false

    func validate() throws {
        guard ["lora", "qlora", "full"].contains(method) else { throw ValidationError("--method must be lora, qlora or full (got '\(method)')") }
        guard ["f32", "bf16"].contains(dtype) else { throw ValidationError("--dtype must be f32 or bf16 (got '\(dtype)')") }
        guard method != "full" || dtype == "f32" else { throw ValidationError("--method full trains f32 weights: --dtype bf16 does not apply") }
        guard batch > 0, seq > 1, steps > 0, r > 0 else { throw ValidationError("--batch, --seq, --steps and --r must be positive (--seq at least 2)") }
    }

    func run() async throws {
        let config = try ModelPresets.config(named: preset)
        let backend = try CPUBackend(kernels: .fast, matmul: matmul)
        let quantization = method == "qlora" ? FourBitQuantization(format: .nf4, doubleQuant: true) : nil
        let model = try CausalLM.random(config: config, backend: backend, seed: 0, dtype: dtype == "bf16" ? .bf16 : .f32,
                                        quantization: quantization)
        model.gradientCheckpointing = gradientCheckpointing
        let trainable: TrainableSet = method == "full" ? .full(try FullFineTuning.prepare(model))
            : .lora(try LoRAAdapters.attach(to: model, config: LoRAConfig(r: r, loraAlpha: Double(2 * r), targetModules: .allLinear)))
        let runner = try StepRunner(model: model, parameters: trainable.parameters,
                                    schedule: LRSchedule(kind: .constant, baseLR: 2e-4, warmupSteps: 0, totalSteps: steps + 1),
                                    weightDecay: 0, maxGradNorm: 1)
        let tokens = try benchmarkBatch(config, rows: batch, length: seq)
        var loss = 0.0
        let times = try timedSteps(steps) { loss = try runner.step([tokens]).loss }
        let median = times.sorted()[times.count / 2]
        let tokenCount = Double(batch * seq)
        let rss = Double(peakResidentBytes()) / 1e9
        let what = method == "full" ? "full fine-tuning" : method == "qlora" ? "QLoRA (nf4, double quant) r\(r) all-linear" : "LoRA r\(r) all-linear"
        let weightBytes = model.namedParameters.reduce(0) { $0 + $1.tensor.byteCount }
        let products = dtype == "bf16" && backend.matmul == .halfInputs ? "bf16" : "fp32"
        print("tailor bench train: \(preset), \(what) (\(trainable.parameterCount) trainable), B\(batch)×T\(seq), \(backend.threadCount) threads,"
              + " frozen weights \(dtype)\(method == "qlora" ? " + nf4" : "") (\(fmt(Double(weightBytes) / 1e9, 2)) GB), \(products) products")
        printCPUHeader()
        if let why = backend.matmulFallback, dtype == "bf16" { print("  note      --matmul bf16 runs fp32 here: \(why.reason)") }
        print("  step      \(fmt(median, 3)) s (median of \(steps))")
        print("  tokens/s  \(fmt(tokenCount / median, 1))")
        print("  peak RSS  \(fmt(rss, 2)) GB")
        print("  loss      \(fmt(loss, 4))")
        let line: JSONValue = [
            "tool": "tailor", "bench": "train", "preset": .string(preset), "batch": .int(batch), "seq": .int(seq),
            "method": .string(method), "dtype": .string(dtype), "products": .string(products), "weight_gb": rounded(Double(weightBytes) / 1e9, 2), "r": .int(r), "gradient_checkpointing": .bool(gradientCheckpointing), "tokens_per_s": rounded(tokenCount / median, 1), "step_s": rounded(median, 3),
            "peak_rss_gb": rounded(rss, 2), "loss": rounded(loss, 4),
        ]
        print(line.text(.python))
    }
}
