import Foundation
import TailorHub

/// Draws a download's `HubEvent`s on standard error: on a terminal one bar (percent, bytes, rate, ETA) redrawn at most
/// ten times a second; elsewhere one line per file.
final class DownloadProgress: @unchecked Sendable {
    private let lock = NSLock()
    private let quiet: Bool
    private let terminal = isatty(2) != 0
    private var total: Int64 = 0
    private var cached: Int64 = 0
    private var received: Int64 = 0
    private var start = Date()
    private var lastDraw = Date.distantPast
    private var drew = false

    init(quiet: Bool) { self.quiet = quiet }

    func handle(_ event: HubEvent) {
        lock.lock()
        defer { lock.unlock() }
        switch event {
        case .resolved(let repo, let revision, let commit, let files, let bytes, let cachedBytes):
            total = bytes
            cached = cachedBytes
            start = Date()
            if !quiet { line("\(repo) at \(revision)" + (commit == revision ? "" : ": commit \(commit)") + ", \(files) file\(files == 1 ? "" : "s"), \(Self.size(bytes))"
                             + (cachedBytes > 0 ? " (\(Self.size(cachedBytes)) cached)" : "")) }
        case .fileStarted(let path, _, let resumedAt) where resumedAt > 0:
            if !quiet { line("\(path): resuming at \(Self.size(resumedAt))") }
        case .progress(let bytes):
            received = bytes
            if !quiet && terminal && Date().timeIntervalSince(lastDraw) >= 0.1 { draw() }
        case .fileDone(let path, let downloaded):
            if !quiet && !terminal && downloaded { line("downloaded \(path)") }
        case .waitingForLock(let path, let lockPath):
            if !quiet { line("\(path): waiting for another download (\(lockPath))") }
        case .retrying(let url, let attempt, let delay, let reason):
            line("retrying \(url) in \(String(format: "%.1f", delay)) s (attempt \(attempt + 1)): \(reason)")
        case .usingCache(let reason):
            line("using the cached snapshot: \(reason)")
        default:
            break
        }
    }

    func finish() {
        lock.lock()
        defer { lock.unlock() }
        if drew { draw(); FileHandle.standardError.write(Data("\n".utf8)); drew = false }
    }

    /// `[#########-----------]  45%  12.3 MB / 27.1 MB  5.1 MB/s  ETA 0:03`
    private func draw() {
        lastDraw = Date()
        let wanted = max(total - cached, 1)
        let fraction = min(1, Double(received) / Double(wanted))
        let width = 30
        let filled = min(width, max(0, Int(fraction * Double(width))))  // allowed: a fraction of the bar's width
        let seconds = max(Date().timeIntervalSince(start), 0.001)
        let rate = Double(received) / seconds
        let eta = rate > 0 ? Double(wanted - received) / rate : 0
        let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled)
        let percent = String(format: "%3.0f%%", fraction * 100)
        let text = "\r[\(bar)] \(percent)  \(Self.size(received)) / \(Self.size(wanted))  \(Self.size(Int64(rate)))/s  ETA \(Self.clock(eta))"  // allowed: a rate in bytes per second
        FileHandle.standardError.write(Data(text.utf8))
        drew = true
    }

    private func line(_ text: String) {
        if drew { FileHandle.standardError.write(Data("\n".utf8)); drew = false }
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }

    static func size(_ bytes: Int64) -> String {
        let units = ["B", "kB", "MB", "GB", "TB"]
        var value = Double(bytes)
        var unit = 0
        while value >= 1000 && unit < units.count - 1 { value /= 1000; unit += 1 }
        return unit == 0 ? "\(bytes) B" : String(format: "%.1f", value) + " " + units[unit]
    }

    static func clock(_ seconds: Double) -> String {
        let s = max(0, Int(seconds.rounded()))  // allowed: seconds left, rounded
        return s >= 3600 ? String(format: "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60) : String(format: "%d:%02d", s / 60, s % 60)
    }
}
