import Foundation
import TailorJSON

/// One training run's folder read back: its settings (tailor_config.yaml's keys, given by the caller,
/// which reads the YAML), its logged series (metrics.jsonl) and how it stands. What `tailor runs` tables.
public struct RunSummary: Sendable {
    public enum Status: String, Sendable {
        /// metrics.jsonl ends with the `finished` event.
        case finished
        /// Another process holds output_dir's lock: it is training now.
        case running
        /// Neither: the run stopped (killed, interrupted, failed) before its end.
        case stopped
    }

    public var name: String
    public var folder: URL
    /// Recipe keys and their values as tailor_config.yaml writes them.
    public var settings: [String: String]
    public var status: Status
    /// The last logged step, and the run's planned steps (the `started` event's max_steps).
    public var steps: Int
    public var totalSteps: Int?
    /// Every numeric value of the step events (loss, learning_rate, grad_norm, rewards/margins, ...) and
    /// of the evaluation events (eval_loss, eval_rouge1, ...), by name, as (step, value) in log order.
    public var series: [String: [(step: Double, value: Double)]]
    /// The `finished` event's train_runtime and train_tokens_per_second; nil while unfinished.
    public var wallSeconds: Double?
    public var tokensPerSecond: Double?

    /// The names a run table leads with: loss and eval_loss, last and best.
    public var finalLoss: Double? { series["loss"]?.last?.value }
    public var bestLoss: Double? { series["loss"]?.map(\.value).min() }
    public var finalEvalLoss: Double? { series["eval_loss"]?.last?.value }
    public var bestEvalLoss: Double? { series["eval_loss"]?.map(\.value).min() }

    /// The last value of every series.
    public var last: [String: Double] { series.compactMapValues { $0.last?.value } }

    /// Keys of metrics.jsonl's events that are bookkeeping, not series.
    static let notSeries: Set<String> = ["step", "epoch", "event", "num_tokens", "num_label_tokens", "elapsed"]

    /// Reads `folder`/metrics.jsonl (the MetricsJSONLSink's lines) and its lock.
    /// - Throws: `TrainingError.checkpoint` naming the file and line of a line that is not JSON.
    public static func read(folder: URL, settings: [String: String]) throws -> RunSummary {
        let file = folder.appendingPathComponent("metrics.jsonl")
        var summary = RunSummary(name: folder.lastPathComponent, folder: folder, settings: settings, status: .stopped, steps: 0,
                                 totalSteps: nil, series: [:])
        let text = (try? String(contentsOf: file, encoding: .utf8)) ?? ""
        var finished = false
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: true).enumerated() {
            let event: JSONValue
            do { event = try JSONValue(parsing: Array(line.utf8), file: file.path) } catch {
                // A run killed mid-write leaves a partial last line; any other bad line is damage.
                if index == text.split(separator: "\n").count - 1 && !text.hasSuffix("\n") { break }
                throw TrainingError.checkpoint(path: "\(file.path):\(index + 1)", problem: "is not a metrics.jsonl line Tailor wrote (\(error))")
            }
            guard let object = event.objectValue else { continue }
            let kind = event["event"]?.stringValue
            let step = event["step"]?.doubleValue
            switch kind {
            case "started":
                summary.totalSteps = event["max_steps"]?.integralValue
                // A resumed run starts again at first_step: what a stopped process logged from there on is replaced.
                if let first = event["first_step"]?.doubleValue {
                    summary.series = summary.series.mapValues { $0.filter { $0.step < first } }.filter { !$0.value.isEmpty }
                }
            case "finished":
                finished = true
                summary.wallSeconds = event["train_runtime"]?.doubleValue
                summary.tokensPerSecond = event["train_tokens_per_second"]?.doubleValue
            default:
                guard let step else { continue }
                summary.steps = max(summary.steps, Int(step.rounded()))  // allowed: a step count from our own log, far below Int.max
                for (key, value) in object where !notSeries.contains(key) {
                    if let number = value.doubleValue, number.isFinite { summary.series[key, default: []].append((step, number)) }
                }
            }
        }
        summary.status = finished ? .finished : isLocked(folder) ? .running : .stopped
        return summary
    }

    /// Whether another process holds `folder`'s `.tailor.lock` (a run training now).
    static func isLocked(_ folder: URL) -> Bool {
        let descriptor = open(folder.appendingPathComponent(OutputFolder.lockFileName).path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return false }
        defer { close(descriptor) }
        if flock(descriptor, LOCK_SH | LOCK_NB) == 0 {
            flock(descriptor, LOCK_UN)
            return false
        }
        return true
    }

    /// The run folders under `path`: `path` itself when it holds metrics.jsonl, else its subfolders
    /// that do (one level, sorted by name).
    public static func runFolders(under path: URL) -> [URL] {
        let fm = FileManager.default
        if fm.fileExists(atPath: path.appendingPathComponent("metrics.jsonl").path) { return [path] }
        let children = (try? fm.contentsOfDirectory(at: path, includingPropertiesForKeys: nil)) ?? []
        return children.filter { fm.fileExists(atPath: $0.appendingPathComponent("metrics.jsonl").path) }
            .sorted { $0.lastPathComponent < $1.lastPathComponent }
    }
}
