#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An environment variable's value, or nil.
func getenvString(_ name: String) -> String? {
    guard let raw = getenv(name) else { return nil }
    return String(cString: raw)
}

/// Online processor count.
func systemCoreCount() -> Int {
    Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))  // allowed: sysconf / getrusage values are C longs, as wide as Int
}

/// The "Name:  N kB" fields of a Linux /proc file (/proc/meminfo, /proc/PID/status) in bytes, by
/// name; nil when the file cannot be opened (not Linux, or the process has exited). Fields
/// without a number are left out.
public func procFieldBytes(_ path: String) -> [String: Int]? {
    guard let file = fopen(path, "r") else { return nil }
    defer { fclose(file) }
    var result: [String: Int] = [:]
    var line = [CChar](repeating: 0, count: 256)
    while fgets(&line, Int32(line.count), file) != nil {  // allowed: a fixed 4 KiB line buffer
        let text = String(decoding: line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        guard let colon = text.firstIndex(of: ":") else { continue }
        if let kilobytes = Int(text[colon...].filter(\.isNumber)) { result[String(text[..<colon])] = kilobytes * 1024 }  // allowed: a String parse (optional)
    }
    return result
}

/// Peak resident set size of this process in bytes (Linux: VmHWM), or 0 when unknown.
public func peakResidentBytes() -> Int {
    #if os(Linux)
    return procFieldBytes("/proc/self/status")?["VmHWM"] ?? 0
    #else
    var usage = rusage()
    getrusage(RUSAGE_SELF, &usage)
    return Int(usage.ru_maxrss)  // allowed: sysconf / getrusage values are C longs, as wide as Int
    #endif
}

/// A monotonic clock in seconds.
public func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}
