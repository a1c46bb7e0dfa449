import Foundation
import TailorJSON

/// Throughput of `Tokenizer.encode` (for `tailor bench tokenize`).
public struct TokenizeBenchmarkResult: Sendable, CustomStringConvertible {
    public var bytes: Int
    public var tokens: Int
    public var seconds: Double
    public var threads: Int
    public var megabytesPerSecond: Double { Double(bytes) / 1_000_000 / seconds }
    public var tokensPerSecond: Double { Double(tokens) / seconds }

    public var description: String {
        String(format: "%.2f MB in %.3f s on %d thread(s): %.2f MB/s, %.0f tokens/s",
               Double(bytes) / 1_000_000, seconds, threads, megabytesPerSecond, tokensPerSecond)
    }
}

public enum TokenizeBenchmark {
    /// Encodes `texts` (without special tokens) `repeats` times and reports the best time.
    /// `threads == 1` calls `encode` on each text in order; more uses `encodeBatch`.
    public static func run(_ tokenizer: Tokenizer, texts: [String], threads: Int = 1, repeats: Int = 3) -> TokenizeBenchmarkResult {
        let bytes = texts.reduce(0) { $0 + $1.utf8.count }
        var best = Double.infinity
        var tokens = 0
        for _ in 0..<max(1, repeats) {
            let start = DispatchTime.now().uptimeNanoseconds
            var count = 0
            if threads <= 1 {
                for t in texts { count += tokenizer.encodeInt32(t, addSpecialTokens: false).count }
            } else {
                count = tokenizer.encodeBatch(texts, addSpecialTokens: false).reduce(0) { $0 + $1.count }
            }
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            best = min(best, seconds)
            tokens = count
        }
        return TokenizeBenchmarkResult(bytes: bytes, tokens: tokens, seconds: best, threads: max(1, threads))
    }

    /// The benchmark corpus: the text fields of the JSON/JSONL files in `folder` (LLaMA-Factory's demo data),
    /// repeated until about `targetBytes`, one document per text.
    public static func corpus(fromDatasetsIn folder: URL, targetBytes: Int = 10_000_000) throws -> [String] {
        let names = try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted()
            .filter { $0.hasSuffix(".json") || $0.hasSuffix(".jsonl") }
        var docs: [String] = []
        for name in names {
            let url = folder.appendingPathComponent(name)
            let data = try Data(contentsOf: url)
            if name.hasSuffix(".jsonl") {
                let lines = String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
                for (number, line) in lines.enumerated() where !line.isEmpty {
                    collectStrings(try JSONValue.parse(Array(line.utf8), line: number + 1, file: url.path), into: &docs)
                }
            } else {
                collectStrings(try JSONValue.parse([UInt8](data), file: url.path), into: &docs)
            }
        }
        docs = docs.filter { !$0.isEmpty }
        guard !docs.isEmpty else { return [] }
        var out: [String] = []
        var size = 0
        while size < targetBytes {
            for d in docs where size < targetBytes { out.append(d); size += d.utf8.count }
        }
        return out
    }

    static func collectStrings(_ v: JSONValue, into out: inout [String]) {
        switch v {
        case .string(let s): out.append(s)
        case .array(let items): for i in items { collectStrings(i, into: &out) }
        case .object(let members): for m in members { collectStrings(m.value, into: &out) }
        default: break
        }
    }
}
