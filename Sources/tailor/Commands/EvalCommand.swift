import ArgumentParser
import Foundation
import TailorData
import TailorFormats
import TailorInference
import TailorMetrics
import TailorModels
import TailorTraining

struct EvalCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Score a model and its LoRA adapters on a dataset: perplexity, BLEU, ROUGE, exact match, contains, DPO rewards.",
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
          rewards           preference pairs (prompt, chosen, rejected) scored as a DPO run scores its
                            held-back pairs, with the base model as the reference for every adapter:
                            rewards/accuracies, rewards/margins, rewards/chosen, rewards/rejected
                            (β·(log π_adapter − log π_base) summed over each reply), logps/chosen,
                            logps/rejected (means over pairs); the default for preference data, and
                            the only metric it takes. An SFT-only adapter and a DPO one compare here.
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

    @Option(help: "Comma-separated metrics: \(EvalMetric.allCases.map(\.rawValue).joined(separator: ", ")). Default: \(EvalMetric.defaults.map(\.rawValue).joined(separator: ",")); rewards for preference data.")
    var metrics: String?

    @Option(parsing: .unconditional, help: "β of the rewards with --metrics rewards (pref_beta, DPOConfig's beta).")
    var beta: Double = 0.1

    @Option(parsing: .unconditional, help: "Most tokens of each sequence of a preference pair with --metrics rewards (max_length, TRL's keep_start truncation).")
    var maxLength: Int = 1024

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

    @OptionGroup var hub: HubOptions

    func validate() throws {
        guard !dataset.isEmpty else { throw ValidationError("give --dataset FILE (the records to evaluate on)") }
        do { _ = try parsedMetrics() } catch { throw ValidationError("--metrics: \(error)") }
        if let maxSamples, maxSamples < 1 { throw ValidationError("--max-samples must be ≥ 1 (got \(maxSamples))") }
        guard maxNewTokens >= 1 else { throw ValidationError("--max-new-tokens must be ≥ 1 (got \(maxNewTokens))") }
        guard batchSize >= 1 else { throw ValidationError("--batch-size must be ≥ 1 (got \(batchSize))") }
        guard evalBatchSize >= 1 else { throw ValidationError("--eval-batch-size must be ≥ 1 (got \(evalBatchSize))") }
        guard examples >= 0 else { throw ValidationError("--examples must be ≥ 0 (got \(examples))") }
        guard beta > 0, beta.isFinite else { throw ValidationError("--beta must be a positive number (got \(beta))") }
        guard maxLength >= 2 else { throw ValidationError("--max-length must be ≥ 2 (got \(maxLength))") }
        _ = try adapterFolders()
    }

    /// The --metrics asked for; nil when not given (the default follows the data).
    func parsedMetrics() throws -> [EvalMetric]? {
        guard let metrics else { return nil }
        let parsed = try EvalMetric.parse(metrics)
        guard !parsed.isEmpty else { throw MetricsError.unknownMetric(metrics) }
        if parsed.contains(where: \.scoresPairs), parsed.contains(where: { !$0.scoresPairs }) {
            throw ValidationError("rewards scores preference pairs and cannot be combined with \(parsed.filter { !$0.scoresPairs }.map(\.rawValue).joined(separator: ", ")), which score SFT records")
        }
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
        let pairs = try DatasetEncoder.load(paths: dataset, options: DatasetOptions()).preferenceSource
        let metricList = try parsedMetrics() ?? (pairs != nil ? [.rewards] : EvalMetric.defaults)
        if let pairs, let other = metricList.first(where: { !$0.scoresPairs }) {
            throw ValidationError("\(pairs) is a preference pair (prompt, chosen, rejected): pairs score with --metrics rewards; \(other.rawValue) needs SFT records (\(other.needs))")
        }
        let (backend, deviceNote) = try compute.backend()
        if let deviceNote { printError(deviceNote) }
        let loaded = try DeviceOptions.inferenceModel(folder: try await ModelArgument.folder(for: model, hub: hub), backend: backend)
        let adapters = try adapterFolders()
        for (name, path) in adapters { try loaded.adapters.load(name: name, folder: URL(fileURLWithPath: path)) }
        if metricList.contains(.rewards) { return try finish(try scorePairs(loaded, adapters: adapters.map(\.name))) }
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
        var parameters = try GenerationScoring.greedy(loaded.defaults, maxNewTokens: maxNewTokens)
        if sample {
            parameters.doSample = true
            parameters.temperature = temperature
            parameters.topP = topP
            parameters.seed = seed
            try parameters.validate()
        }

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
        try finish(report)
    }

    func finish(_ report: EvalReport) throws {
        try write(report)
        emit(report.table() + "\n")
        for line in report.notes { emit("note: \(line)\n") }
        emit("wrote \(output)/eval_results.json, report.md\n")
    }

    /// --metrics rewards: every pair's log-probabilities under the base (the reference, once),
    /// then each adapter's rewards against it.
    func scorePairs(_ loaded: InferenceModel, adapters: [String]) throws -> EvalReport {
        var options = DatasetOptions()
        options.maxLength = maxLength
        let scoring = try PairScoring(paths: dataset, options: options, tokenizer: loaded.tokenizer, maxSamples: maxSamples,
                                      beta: beta, batchSize: evalBatchSize)
        let notes = scoring.warnings + [
            "rewards are \(beta)·(log π_adapter − log π_base) over each reply's tokens, the base model the reference; the base's own rewards are 0 and left out",
        ]
        for line in scoring.warnings { note("tailor eval: \(line)") }
        var report = EvalReport(dataset: dataset.joined(separator: ", "), samples: scoring.rows.count, columns: EvalMetric.rewards.columns, notes: notes)
        try loaded.adapters.activate(nil)
        note("[base] log-probabilities of \(scoring.rows.count) pairs (the reference)")
        let reference = try scoring.reference(model: loaded.model)
        report.rows.append(EvalReport.Row(model: "base", values: try scoring.baseScores(reference), predictions: []))
        for name in adapters {
            try loaded.adapters.activate(name)
            note("[\(name)] rewards of \(scoring.rows.count) pairs")
            report.rows.append(EvalReport.Row(model: name, values: try scoring.score(model: loaded.model, reference: reference), predictions: []))
        }
        return report
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
        for (extra, file, title) in [(report.perplexityChart(), "report_ppl.png", "perplexity"), (report.rewardChart(), "report_rewards.png", "reward accuracy")] {
            guard let extra else { continue }
            try AtomicWrite.write(Data(try extra.png()), to: folder.appendingPathComponent(file))
            if chartName == nil { markdown += "\n![\(title)](\(file))\n" } else {
                markdown = markdown.replacingOccurrences(of: "![metrics](report.png)\n", with: "![metrics](report.png)\n![\(title)](\(file))\n")
            }
        }
        try AtomicWrite.write(Data(markdown.utf8), to: folder.appendingPathComponent("report.md"))
    }
}
