import Foundation
import TailorTensor
import XCTest

/// Seeded fuzzing of the readers of outside data (issue 27): each fuzzer mutates real files (bit
/// flips, truncations, huge and negative numbers, deep nesting, wrong types, bad bytes) and feeds
/// them to a reader. A case passes when the reader returns or throws one of the expected error
/// types within the time bound; a trap would end the whole test process, so the committed run
/// length must find nothing.
///
/// `TAILOR_FUZZ_SEED` repeats a run (the seed is printed), `TAILOR_FUZZ_CASES` sets the number of
/// cases per fuzzer (a number, or `large` for 50 times the committed count: scripts/fuzz.sh).
public struct Fuzz {
    /// The seed of this run: `TAILOR_FUZZ_SEED`, else `fallback`.
    public static func seed(_ fallback: UInt64) -> UInt64 {
        guard let text = ProcessInfo.processInfo.environment["TAILOR_FUZZ_SEED"], let seed = UInt64(text) else { return fallback }
        return seed
    }

    /// The case count of this run: `TAILOR_FUZZ_CASES` (a number, or `large`), else `fallback`.
    public static func cases(_ fallback: Int) -> Int {
        guard let text = ProcessInfo.processInfo.environment["TAILOR_FUZZ_CASES"] else { return fallback }
        if text == "large" { return fallback * 50 }
        return Int(text).map { max(1, $0) } ?? fallback
    }

    /// Seconds one case may take before the fuzzer reports a hang; `TAILOR_FUZZ_TIMEOUT` overrides.
    public static var timeLimit: Double {
        ProcessInfo.processInfo.environment["TAILOR_FUZZ_TIMEOUT"].flatMap(Double.init) ?? 20
    }

    var rng: SplitMix64

    public init(seed: UInt64) { rng = SplitMix64(state: seed) }

    public mutating func below(_ n: Int) -> Int { n <= 0 ? 0 : Int(rng.next() % UInt64(n)) }  // allowed: n > 0 is an Int, the remainder is below it

    public mutating func pick<T>(_ items: [T]) -> T { items[below(items.count)] }

    /// Numbers that break narrowing conversions, sizes and loops.
    static let numbers = ["-1", "0", "-0", "1e20", "-1e20", "1e308", "1e400", "-1e400", "9223372036854775807", "-9223372036854775808",
                          "9223372036854775808", "18446744073709551616", "4294967296", "2147483648", "1099511627776",
                          "99999999999", "0.5", "-2.5", "1e-400", "123456789012345678901234567890", "65536", "100000000"]
    /// Values of other JSON types, to put where a value was.
    static let values = ["null", "true", "\"\"", "\"x\"", "[]", "{}", "[1, [2]]", "{\"a\": {}}", "-7", "3.5", "\"\\u0000\"", "\"\\ud800\""]

    /// One mutation of `input`; `text` says whether it is JSON/YAML/CSV text (number and value swaps,
    /// nesting) or binary (little-endian integers overwritten, mostly in the header).
    public mutating func mutate(_ input: [UInt8], text: Bool) -> [UInt8] {
        var bytes = input
        if bytes.isEmpty { return Array(pick(Self.values).utf8) }
        let rounds = 1 + below(3)
        for _ in 0..<rounds {
            let kind = below(text ? 9 : 6)
            let at = below(bytes.count)
            switch kind {
            case 0:  // bit flips
                for _ in 0...below(4) { let i = below(bytes.count); bytes[i] ^= UInt8(1) << UInt8(below(8)) }  // allowed: below(8) < 8
            case 1:  // truncation
                bytes = Array(bytes[..<at])
            case 2:  // a span removed or repeated
                let end = min(bytes.count, at + 1 + below(64))
                if below(2) == 0 { bytes.removeSubrange(at..<end) } else { bytes.insert(contentsOf: bytes[at..<end], at: at) }
            case 3:  // bytes that are not UTF-8, NUL, control characters
                bytes.insert(contentsOf: pick([[0xFF], [0xC0, 0x80], [0x00], [0xED, 0xA0, 0x80], [0x1B], [0xF4, 0x90, 0x80, 0x80]]), at: at)
            case 4 where !text, 5 where !text:  // a little-endian integer overwritten (8 bytes), mostly near the start
                let place = kind == 4 ? below(min(bytes.count, 4096)) : at
                let value: UInt64 = pick([UInt64.max, 1 << 63, 1 << 32, UInt64(UInt32.max), 0, 1 << 40, 0x7FFF_FFFF_FFFF_FFFF, 13, 1 << 20])
                for k in 0..<8 where place + k < bytes.count { bytes[place + k] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(k))) }  // allowed: k < 8
            case 4:  // a number replaced by a hostile one
                if let span = numberSpan(bytes, from: at) { bytes.replaceSubrange(span, with: Array(pick(Self.numbers).utf8)) }
            case 5:  // a value replaced by one of another type
                if let span = numberSpan(bytes, from: at) ?? stringSpan(bytes, from: at) { bytes.replaceSubrange(span, with: Array(pick(Self.values).utf8)) }
            case 6:  // deep nesting
                let depth = pick([100, 600, 5000, 100_000])
                let open = pick(["[", "{\"a\":", "- ", "  "])
                bytes.insert(contentsOf: Array(String(repeating: open, count: depth).utf8), at: at)
            case 7:  // a structural character inserted or removed
                if below(2) == 0 { bytes.insert(pick(Array("[]{},:\"\\\n-#'".utf8)), at: at) } else { bytes.remove(at: at) }
            default:  // a string made huge
                if let span = stringSpan(bytes, from: at) {
                    bytes.insert(contentsOf: [UInt8](repeating: pick(Array("a {}%\\".utf8)), count: pick([1000, 100_000])), at: span.lowerBound + 1)
                }
            }
            if bytes.isEmpty { break }
        }
        return bytes
    }

    /// The digits (with sign, fraction and exponent) of the first number at or after `from`.
    func numberSpan(_ bytes: [UInt8], from: Int) -> Range<Int>? {
        guard let start = bytes[from...].firstIndex(where: { (0x30...0x39).contains($0) }) else { return nil }
        var s = start, e = start
        if s > 0 && bytes[s - 1] == UInt8(ascii: "-") { s -= 1 }
        while e < bytes.count, (0x30...0x39).contains(bytes[e]) || [0x2E, 0x65, 0x45, 0x2B, 0x2D].contains(bytes[e]) { e += 1 }
        return s..<e
    }

    /// The first double-quoted string at or after `from`, quotes included.
    func stringSpan(_ bytes: [UInt8], from: Int) -> Range<Int>? {
        let quote = UInt8(ascii: "\"")
        guard let start = bytes[from...].firstIndex(of: quote), let end = bytes[(start + 1)...].firstIndex(of: quote) else { return nil }
        return start..<(end + 1)
    }

    /// Runs `cases` cases of fuzzer `name`: case `i` mutates one of `corpus` (chosen by the seeded
    /// stream) and hands it to `body` on a worker thread with a deadline of `timeLimit` seconds.
    /// `expected` says whether a thrown error is one the reader may throw (its module's error type).
    /// Prints the seed and the count; fails naming the seed and case of a hang or an unexpected error.
    public static func run(_ name: String, seed fallbackSeed: UInt64, cases fallbackCases: Int, corpus: [[UInt8]], text: Bool,
                           expected: @escaping @Sendable (Error) -> Bool, file: StaticString = #filePath, line: UInt = #line,
                           _ body: @escaping @Sendable ([UInt8]) throws -> Void) {
        let seed = Self.seed(fallbackSeed)
        let count = Self.cases(fallbackCases)
        guard !corpus.isEmpty else { return XCTFail("\(name): no seed files", file: file, line: line) }
        var fuzz = Fuzz(seed: seed)
        var errors = 0
        let start = Date()
        print("fuzz \(name): seed \(seed), \(count) cases (TAILOR_FUZZ_SEED=\(seed) TAILOR_FUZZ_CASES=\(count) to repeat)")
        for index in 0..<count {
            let input = fuzz.mutate(fuzz.pick(corpus), text: text)
            let outcome = Outcome()
            let done = DispatchSemaphore(value: 0)
            let thread = Thread {
                do { try body(input) } catch { outcome.error = error }
                done.signal()
            }
            thread.stackSize = 16 << 20
            thread.start()
            guard done.wait(timeout: .now() + timeLimit) == .success else {
                let path = FileManager.default.temporaryDirectory.appendingPathComponent("tailor-fuzz-\(name)-\(seed)-\(index)")
                try? Data(input).write(to: path)
                return XCTFail("fuzz \(name): seed \(seed) case \(index) ran past \(timeLimit) s (input saved to \(path.path))", file: file, line: line)
            }
            if let error = outcome.error {
                errors += 1
                if !expected(error) {
                    let path = FileManager.default.temporaryDirectory.appendingPathComponent("tailor-fuzz-\(name)-\(seed)-\(index)")
                    try? Data(input).write(to: path)
                    XCTFail("fuzz \(name): seed \(seed) case \(index) threw \(type(of: error)): \(error) (input saved to \(path.path))", file: file, line: line)
                }
            }
        }
        print("fuzz \(name): \(count) cases, \(errors) rejected with an error, \(count - errors) read, in \(String(format: "%.1f", Date().timeIntervalSince(start))) s")
    }

    /// Real files as bytes (those that exist).
    public static func files(_ urls: [URL?]) -> [[UInt8]] {
        urls.compactMap { $0 }.compactMap { try? Data(contentsOf: $0) }.map { [UInt8]($0) }
    }

    /// A fresh temporary file holding `bytes`, named `name`, removed by the caller.
    public static func write(_ bytes: [UInt8], name: String) throws -> URL {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("tailor-fuzz-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let url = folder.appendingPathComponent(name)
        try Data(bytes).write(to: url)
        return url
    }
}

/// What a case's worker thread hands back.
private final class Outcome: @unchecked Sendable {
    var error: Error?
}
