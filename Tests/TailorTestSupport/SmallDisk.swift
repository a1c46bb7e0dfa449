import Foundation

/// A tmpfs of a few kilobytes mounted for a test: a disk that fills mid-write. Mounting needs root and
/// mount(8); where either is missing `mount` returns false and the test skips.
public enum SmallDisk {
    /// Mounts a `kilobytes` tmpfs on `mountPoint` (created if missing); true when it is mounted.
    public static func mount(at mountPoint: URL, kilobytes: Int) -> Bool {
        guard (try? FileManager.default.createDirectory(at: mountPoint, withIntermediateDirectories: true)) != nil else { return false }
        return run("/bin/mount", ["-t", "tmpfs", "-o", "size=\(kilobytes)k", "tmpfs", mountPoint.path])
    }

    public static func unmount(_ mountPoint: URL) {
        _ = run("/bin/umount", [mountPoint.path])
    }

    static func run(_ tool: String, _ arguments: [String]) -> Bool {
        guard FileManager.default.isExecutableFile(atPath: tool) else { return false }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = arguments
        process.standardError = FileHandle.nullDevice
        do { try process.run() } catch { return false }
        process.waitUntilExit()
        return process.terminationStatus == 0
    }
}
