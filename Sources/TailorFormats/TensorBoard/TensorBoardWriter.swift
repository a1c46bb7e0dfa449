#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes a TensorBoard event file that `tensorboard --logdir` and
/// `tensorboard.backend.event_processing.event_accumulator.EventAccumulator` read.
///
/// The file is `<logDir>/events.out.tfevents.<10-digit unix time>.<hostname>.<pid>.<n>` (tensorboard's own
/// naming), opened with the `brain.Event:2` record. Each `addScalar(s)` appends one TFRecord at once (no
/// buffering), so a crash leaves every earlier record complete; see `AppendOnlyFile`.
public final class TensorBoardWriter {
    /// The event file's full path.
    public let path: String
    private let file: AppendOnlyFile
    private let clock: @Sendable () -> Double

    /// Creates `logDir` (and parents) if needed and a new event file in it.
    /// - Parameters:
    ///   - clock: seconds since 1970 for each record's `wall_time` (tests pin it).
    ///   - hostname: the host part of the file name (default: this machine's).
    /// - Throws: `FormatError.cannotWrite` when the folder or file cannot be created.
    public init(logDir: String, hostname: String? = nil,
                clock: @escaping @Sendable () -> Double = { Date().timeIntervalSince1970 }) throws {
        do {
            try FileManager.default.createDirectory(atPath: logDir, withIntermediateDirectories: true)
        } catch {
            throw FormatError.cannotWrite(path: logDir, reason: "cannot create the folder: \(error)")
        }
        let now = clock()
        // tensorboard ends the name with pid and a per-process counter; a random number keeps two writers
        // opened in the same second apart without shared state.
        let number = UInt32.random(in: 0...UInt32.max)
        let host = hostname ?? Self.hostname()
        let name = "events.out.tfevents." + Self.tenDigits(Int(now)) + ".\(host).\(getpid()).\(number)"  // allowed: now is the wall clock in seconds since 1970, far below 2^63
        path = logDir.hasSuffix("/") ? logDir + name : logDir + "/" + name
        file = try AppendOnlyFile(path: path, truncate: true)
        self.clock = clock
        try file.append(TFRecord.frame(TensorBoardEvent.fileVersion(wallTime: now).serialized()))
    }

    /// Appends one event holding `value` under `tag` at `step`.
    public func addScalar(_ tag: String, _ value: Float, step: Int) throws {
        try addScalars([(tag, value)], step: step)
    }

    /// Appends one event per scalar (as tensorboard's `SummaryWriter.add_scalar` does), all at `step`.
    public func addScalars(_ scalars: [(tag: String, value: Float)], step: Int) throws {
        var bytes: [UInt8] = []
        let now = clock()
        for (tag, value) in scalars {
            let event = TensorBoardEvent(wallTime: now, step: Int64(step),  // allowed: Int -> Int64 is the same width on 64-bit platforms
                                         content: .scalars([.init(tag: tag, value: value)]))
            bytes += TFRecord.frame(event.serialized())
        }
        try file.append(bytes)
    }

    /// Appends an already-built event.
    public func add(_ event: TensorBoardEvent) throws {
        try file.append(TFRecord.frame(event.serialized()))
    }

    /// Forces the file to disk.
    /// Marks a resumed run: TensorBoard forgets what earlier event files logged from `step` on.
    public func addSessionStart(step: Int) throws {
        try add(TensorBoardEvent(wallTime: clock(), step: Int64(clamping: step), content: .sessionStart))
    }

    public func flush() throws { try file.sync() }

    /// Syncs and closes the file; later writes throw.
    public func close() throws {
        try file.sync()
        file.close()
    }

    private static func tenDigits(_ value: Int) -> String {
        let text = String(value)
        return text.count >= 10 ? text : String(repeating: "0", count: 10 - text.count) + text
    }

    private static func hostname() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "localhost" }
        let name = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        // A '/' would make a folder of the name.
        return name.isEmpty ? "localhost" : String(name.map { $0 == "/" ? "_" : $0 })
    }
}
