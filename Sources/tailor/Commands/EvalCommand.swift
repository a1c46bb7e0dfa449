import ArgumentParser
import Foundation
import TailorData
import TailorFormats
import TailorInference
import TailorMetrics
import TailorModels

struct EvalCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Score a model and its LoRA adapters on a dataset: perplexity, BLEU, ROUGE, exact match, contains.",
        discussion: """
        The base model and every --adapter are scored in one run on the same records (alpaca, sharegpt or
        messages files, read as tailor train reads them). Perplexity is over the labeled tokens with the
        training masking (assistant replies). The generation metrics compare a greedy answer to each
        record's prompt (its turns before the last assistant reply, through the chat template) with that
        reply. Metric names (--metrics) and what they compute:
          ppl               exp of the token-weighted mean loss
          eval_ppl_trainer  exp of transformers Trainer's eval_loss (the mean of per-batch means)
          bleu-4, rouge     LLaMA-Factory's bleu-4 and rouge-1/2/l (jieba words, rouge_chinese F, NLTK
                            sentence BLEU on characters, smoothing method 3; mean of per-sample ×100)
          sacrebleu         sacrebleu corpus BLEU, tokenizers 13a and zh (sacrebleu-13a, sacrebleu-zh)
          rouge-score       Google rouge-score rouge1/rouge2/rougeL F ×100 (default tokenizer, no stemmer)
          exact, contains   % of answers equal to the reference / containing every --contains text
                            (the reference when none is given)
        bleu-4 and rouge need jieba's dictionary: --jieba-dir, TAILOR_JIEBA_DIR, or the cache
        ~/.cache/tailor/jieba/0.42.1, fetched once with pip from PyPI; without it they are left out
        and said so, and the other metrics still run.
        Writes to --output: eval_results.json (the table), <model>/generated_predictions.jsonl
        (LLaMA-Factory's {"prompt", "predict", "label"}), report.md with report.png (a bar chart) and
        a few answers side by side.
        """
    )

    @Option(help: "Hugging Face model folder, or a .gguf file (imported once into ~/.cache/tailor), or a hub id ORG/NAME (from the Hugging Face cache, downloaded into it when missing).")
    var model: String

    @Option(help: "A LoRA adapter folder to score beside the base model, as PATH or NAME=PATH (repeatable). Default: none (the base only).")
    var adapter: [String] = []

    @Option(name: [.customLong("dataset"), .customLong("data")], help: "Data file(s) to evaluate on (JSON, JSONL, CSV; repeatable).")
    var dataset: [String] = []

    @Option(help: "Comma-separated metrics: \(EvalMetric.allCases.map(\.rawValue).joined(separator: ", ")).")
    var metrics: String = EvalMetric.defaults.map(\.rawValue).joined(separator: ",")

    @Option(parsing: .unconditional, help: "Evaluate only the first N records. Default: all.")
    var maxSamples: Int?

    @Option(parsing: .unconditional, help: "Most new tokens per answer.")
    var maxNewTokens: Int = 128

    @Option(parsing: .unconditional, help: "Prompts generated together.")
    var batchSize: Int = 8

    @Option(parsing: .unconditional, help: "Records per perplexity batch (per_device_eval_batch_size; matters to eval_ppl_trainer only).")
    var evalBatchSize: Int = 8

    @Option(help: "Text every answer must contain for the contains metric (repeatable). Default: the record's reference answer.")
    var contains: [String] = []

    @Flag(help: "Sample answers (temperature, top-p) instead of greedy decoding. Default: greedy.")
    var sample = false

    @Option(parsing: .unconditional, help: "Sampling temperature with --sample.")
    var temperature: Double = 1.0

    @Option(parsing: .unconditional, help: "Nucleus sampling threshold with --sample, in (0, 1].")
    var topP: Double = 1.0

    @Option(parsing: .unconditional, help: "Sampler seed with --sample.")
    var seed: UInt64 = 42

    @Option(help: "jieba's package folder (dict.txt, finalseg/prob_*.py). Default: TAILOR_JIEBA_DIR, else the cache, fetched once with pip.")
    var jiebaDir: String?

    @Option(help: "Output folder for eval_results.json, predictions and the report.")
    var output: String = "eval"

    @Option(parsing: .unconditional, help: "Answers shown side by side in report.md.")
    var examples: Int = 5

    @OptionGroup var compute: DeviceOptions

    func validate() throws {
        guard !dataset.isEmpty else { throw ValidationError("give --dataset FILE (the records to evaluate on)") }
        do { _ = try parsedMetrics() } catch { throw ValidationError("--metrics: \(error)") }
        if let maxSamples, maxSamples < 1 { throw ValidationError("--max-samples must be ≥ 1 (got \(maxSamples))") }
        guard maxNewTokens >= 1 else { throw ValidationError("--max-new-tokens must be ≥ 1 (got \(maxNewTokens))") }
        guard batchSize >= 1 else { throw ValidationError("--batch-size must be ≥ 1 (got \(batchSize))") }
        guard evalBatchSize >= 1 else { throw ValidationError("--eval-batch-size must be ≥ 1 (got \(evalBatchSize))") }
        guard examples >= 0 else { throw ValidationError("--examples must be ≥ 0 (got \(examples))") }
        _ = try adapterFolders()
    }

    func parsedMetrics() throws -> [EvalMetric] {
        let parsed = try EvalMetric.parse(metrics)
        guard !parsed.isEmpty else { throw MetricsError.unknownMetric(metrics) }
        return parsed
    }

    /// (name, folder) of each --adapter: NAME=PATH, or PATH named by its last component; names made unique.
    func adapterFolders() throws -> [(name: String, path: String)] {
        var result: [(name: String, path: String)] = []
        for item in adapter {
            var name: String, path: String
            if let eq = item.firstIndex(of: "="), eq != item.startIndex, !item[..<eq].contains("/") {
                name = String(item[..<eq]); path = String(item[item.index(after: eq)...])
            } else {
                path = item; name = URL(fileURLWithPath: item).standardized.lastPathComponent
            }
            guard !path.isEmpty else { throw ValidationError("--adapter '\(item)' has no folder") }
            name = name.map { $0.isLetter || $0.isNumber || "-_.".contains($0) ? $0 : "_" }.reduce("") { $0 + String($1) }
            if name.isEmpty || name == "." || name == ".." { name = "adapter" }
            var unique = name, n = 2
            while unique == "base" || result.contains(where: { $0.name == unique }) { unique = "\(name)-\(n)"; n += 1 }
            result.append((unique, path))
        }
        return result
    }

    func run() async throws {
        let metricList = try parsedMetrics()
        let (backend, deviceNote) = try compute.backend()
        if let deviceNote { printError(deviceNote) }
        let loaded = try InferenceModel(folder: try await ModelArgument.folder(for: model), backend: backend)
        let adapters = try adapterFolders()
        for (name, path) in adapters { try loaded.adapters.load(name: name, folder: URL(fileURLWithPath: path)) }
        let samples = try EvalSample.load(paths: dataset, options: DatasetOptions(), tokenizer: loaded.tokenizer, maxSamples: maxSamples)
        try Evaluator.checkInputs(samples, metrics: metricList, expected: contains)

        var notes: [String] = []
        var jieba: Jieba? = nil
        if metricList.contains(where: \.needsJieba) {
            switch JiebaFetch.load(explicit: jiebaDir, log: { note($0) }) {
            case let .success(j): jieba = j
            case let .failure(why):
                let left = metricList.filter(\.needsJieba).flatMap(\.columns).joined(separator: ", ")
                notes.append("\(left) left out: \(why)")
                note("tailor eval: \(notes[notes.count - 1])")
            }
        }
        var parameters = loaded.defaults
        parameters.maxNewTokens = maxNewTokens
        parameters.doSample = sample
        parameters.temperature = temperature
        parameters.topP = topP
        parameters.topK = 0
        parameters.seed = seed
        parameters.repetitionPenalty = 1
        parameters.noRepeatNgramSize = 0
        parameters.truncatePrompt = true
        try parameters.validate()

        let columns = metricList.flatMap(\.columns)
        var report = EvalReport(dataset: dataset.joined(separator: ", "), samples: samples.count, columns: columns, notes: notes)
        let evaluator = Evaluator(model: loaded)
        for name in [nil] + adapters.map(\.name) as [String?] {
            let label = name ?? "base"
            try loaded.adapters.activate(name)
            var values: [String: Double] = [:]
            if metricList.contains(.ppl) || metricList.contains(.evalPplTrainer) {
                note("[\(label)] perplexity over \(samples.reduce(0) { $0 + $1.labeledTokens }) labeled tokens")
                let ppl = try evaluator.perplexity(samples, batchSize: evalBatchSize)
                if metricList.contains(.ppl) { values["ppl"] = ppl.ppl }
                if metricList.contains(.evalPplTrainer) { values["eval_ppl_trainer"] = ppl.trainerPpl }
            }
            var predictions: [Prediction] = []
            if metricList.contains(where: \.generates) {
                let start = Date()
                predictions = try evaluator.predictions(samples, parameters: parameters, batchSize: batchSize) { done in
                    note("[\(label)] generated \(done)/\(samples.count) answers")
                }
                note("[\(label)] generation took \(fmt(Date().timeIntervalSince(start), 1)) s")
                values.merge(Evaluator.score(predictions, metrics: metricList, expected: contains, jieba: jieba)) { $1 }
            }
            report.rows.append(EvalReport.Row(model: label, values: values, predictions: predictions))
        }
        try write(report)
        emit(report.table() + "\n")
        for line in report.notes { emit("note: \(line)\n") }
        emit("wrote \(output)/eval_results.json, report.md\n")
    }

    func write(_ report: EvalReport) throws {
        let folder = URL(fileURLWithPath: output)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try AtomicWrite.write(Data((report.json().text(.pretty) + "\n").utf8), to: folder.appendingPathComponent("eval_results.json"))
        for row in report.rows where !row.predictions.isEmpty {
            let sub = folder.appendingPathComponent(row.model)
            try FileManager.default.createDirectory(at: sub, withIntermediateDirectories: true)
            try AtomicWrite.write(Data(EvalReport.predictionLines(row.predictions).utf8), to: sub.appendingPathComponent("generated_predictions.jsonl"))
        }
        var chartName: String? = nil
        let chart = report.chart()
        if !chart.groups.isEmpty {
            try AtomicWrite.write(Data(try chart.png()), to: folder.appendingPathComponent("report.png"))
            chartName = "report.png"
        }
        var markdown = report.markdown(chart: chartName, examples: examples)
        if let ppl = report.perplexityChart() {
            try AtomicWrite.write(Data(try ppl.png()), to: folder.appendingPathComponent("report_ppl.png"))
            markdown = markdown.replacingOccurrences(of: "![metrics](report.png)\n", with: "![metrics](report.png)\n![perplexity](report_ppl.png)\n")
            if chartName == nil { markdown += "\n![perplexity](report_ppl.png)\n" }
        }
        try AtomicWrite.write(Data(markdown.utf8), to: folder.appendingPathComponent("report.md"))
    }
}
