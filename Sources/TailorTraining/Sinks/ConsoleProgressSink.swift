#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The terminal view of a run: a progress bar redrawn in place on a terminal,
///
///     ▕██████████▌         ▏  52/100  52% │ loss 1.8734 │ lr 1.85e-04 │ 5.1k tok/s │ 00:41<00:38
///
/// and on anything else (a log file, CI) one plain line per `lineEvery` steps:
///
///     step 52/100 loss 1.8734 lr 1.85e-04 grad_norm 0.912 tok/s 5123 elapsed 00:41 eta 00:38
///
/// Evaluations, checkpoints and warnings print as their own lines (above the bar on a terminal), and
/// `.finished` prints a summary. It writes to the stream it is given; the library itself never prints.
public final class ConsoleProgressSink: TrainingSink {
    private var output: any TextOutputStream
    private let interactive: Bool
    private let barWidth: Int
    private let lineEvery: Int
    private var firstStep = 1
    private var totalSteps = 0
    private var barShown = false
    private var lastBar = ""

    /// - Parameters:
    ///   - output: where text goes (e.g. `FileDescriptorOutputStream.standardError`).
    ///   - interactive: redraw one line in place (a terminal) or print plain lines.
    ///   - lineEvery: plain mode prints every this many steps (and the last).
    public init(output: any TextOutputStream, interactive: Bool, barWidth: Int = 20, lineEvery: Int = 1) {
        self.output = output
        self.interactive = interactive
        self.barWidth = max(5, barWidth)
        self.lineEvery = max(1, lineEvery)
    }

    /// Progress on standard error; a bar when it is a terminal, plain lines otherwise.
    public static func standardError(lineEvery: Int = 1) -> ConsoleProgressSink {
        ConsoleProgressSink(output: FileDescriptorOutputStream.standardError,
                            interactive: isatty(2) == 1, lineEvery: lineEvery)
    }

    public func handle(_ event: TrainingEvent) throws {
        switch event {
        case let .started(plan):
            firstStep = plan.firstStep
            totalSteps = plan.totalSteps
            let resumed = plan.firstStep > 1 ? " (resuming at step \(plan.firstStep))" : ""
            let percent = plan.totalParameters > 0
                ? NumberText.fixed(100 * Double(plan.trainableParameters) / Double(plan.totalParameters), 4) : "0"
            line("training \(plan.totalSteps) steps, \(NumberText.fixed(plan.epochs, 2)) epochs, \(plan.samples) samples\(resumed)")
            line("trainable params: \(plan.trainableParameters) || all params: \(plan.totalParameters) || trainable%: \(percent)")
        case let .step(record):
            totalSteps = record.totalSteps
            if interactive {
                lastBar = bar(record)
                output.write("\r" + lastBar + "\u{1B}[K")
                barShown = true
            } else if record.step % lineEvery == 0 || record.step == record.totalSteps {
                output.write(plain(record) + "\n")
            }
        case let .evaluation(record):
            line("step \(record.step): eval_loss \(NumberText.fixed(record.loss, 4))\(Self.preference(record.metrics, prefix: "eval_"))"
                + " (epoch \(NumberText.fixed(record.epoch, 2)))")
        case let .checkpointSaved(step, path):
            line("step \(step): saved \(path)")
        case let .warning(message):
            line("warning: \(message)")
        case .system:
            break
        case let .interrupted(step, path):
            line("interrupted after step \(step): saved \(path)")
        case let .finished(summary):
            if barShown { output.write("\n") }
            barShown = false
            output.write("finished \(summary.steps) steps in \(NumberText.duration(summary.seconds)), final loss "
                + "\(NumberText.fixed(summary.finalLoss, 4)), \(NumberText.rate(summary.tokensPerSecond)) tok/s; "
                + "output in \(summary.outputDir)\n")
        }
    }

    /// Prints a whole line; on a terminal it goes above the bar, which is then redrawn.
    private func line(_ text: String) {
        if interactive && barShown {
            output.write("\r\u{1B}[K" + text + "\n" + lastBar)
        } else {
            output.write(text + "\n")
        }
    }

    func eta(_ record: StepRecord) -> Double {
        let done = record.step - firstStep + 1
        guard done > 0, record.elapsed > 0 else { return .nan }
        return record.elapsed / Double(done) * Double(max(0, record.totalSteps - record.step))
    }

    func bar(_ record: StepRecord) -> String {
        let total = max(record.totalSteps, 1)
        let fraction = min(1, max(0, Double(record.step) / Double(total)))
        let eighths = Int((fraction * Double(barWidth * 8)).rounded(.down))  // allowed: fraction is clamped to [0, 1] above
        let partials = ["", "▏", "▎", "▍", "▌", "▋", "▊", "▉"]
        var cells = String(repeating: "█", count: eighths / 8)
        if eighths / 8 < barWidth { cells += partials[eighths % 8] }
        cells += String(repeating: " ", count: max(0, barWidth - cells.count))
        let steps = String(record.step)
        let width = String(total).count
        let padded = String(repeating: " ", count: max(0, width - steps.count)) + steps
        let percent = String(Int((fraction * 100).rounded(.down)))  // allowed: fraction is clamped to [0, 1] above
        return "▕\(cells)▏ \(padded)/\(total) \(String(repeating: " ", count: 3 - percent.count))\(percent)%"
            + " │ loss \(NumberText.fixed(record.loss, 4))"
            + (record.metrics["rewards/margins"].map { " │ margin \(NumberText.fixed($0, 3))" } ?? "")
            + " │ lr \(NumberText.scientific(record.learningRate))"
            + " │ \(NumberText.rate(record.tokensPerSecond)) tok/s"
            + " │ \(NumberText.duration(record.elapsed))<\(NumberText.duration(eta(record)))"
    }

    /// A preference objective's reward margin and accuracy (` rewards/margins 0.412 rewards/accuracies 0.750`), or "".
    static func preference(_ metrics: [String: Double], prefix: String) -> String {
        ["rewards/margins", "rewards/accuracies"].compactMap { name in
            metrics[name].map { " \(prefix)\(name) \(NumberText.fixed($0, 3))" }
        }.joined()
    }

    func plain(_ record: StepRecord) -> String {
        "step \(record.step)/\(record.totalSteps) loss \(NumberText.fixed(record.loss, 4))"
            + Self.preference(record.metrics, prefix: "")
            + " lr \(NumberText.scientific(record.learningRate)) grad_norm \(NumberText.fixed(record.gradNorm, 3))"
            + " tok/s \(NumberText.fixed(record.tokensPerSecond, 0)) elapsed \(NumberText.duration(record.elapsed))"
            + " eta \(NumberText.duration(eta(record)))"
    }
}

/// A `TextOutputStream` over a file descriptor, unbuffered (each `write` is one `write(2)` loop).
public struct FileDescriptorOutputStream: TextOutputStream, Sendable {
    public let descriptor: Int32

    public init(descriptor: Int32) {
        self.descriptor = descriptor
    }

    public static let standardOutput = FileDescriptorOutputStream(descriptor: 1)
    public static let standardError = FileDescriptorOutputStream(descriptor: 2)

    public mutating func write(_ string: String) {
        var bytes = Array(string.utf8)
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeMutableBytes { buffer in
                Self.posixWrite(descriptor, buffer.baseAddress! + offset, buffer.count - offset)
            }
            if written < 0 {
                if errno == EINTR { continue }
                return  // a closed terminal must not stop training
            }
            offset += written
        }
    }

    private static func posixWrite(_ fd: Int32, _ pointer: UnsafeRawPointer, _ count: Int) -> Int {
        #if canImport(Glibc)
        Glibc.write(fd, pointer, count)
        #elseif canImport(Musl)
        Musl.write(fd, pointer, count)
        #else
        Darwin.write(fd, pointer, count)
        #endif
    }
}
