import ArgumentParser
import Foundation
import TailorJSON
import TailorTokenizers

struct BenchTokenizeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenize",
        abstract: "Time tokenizer.json encoding on a mixed corpus (compare: scripts/bench/bench_tokenize.py).",
        discussion: """
        The corpus is every string of the JSON/JSONL files in --datasets (sorted by file name), repeated
        to about --mb megabytes: the same corpus scripts/bench/bench_tokenize.py builds for HF tokenizers.
        Encodes each document without special tokens on one thread, then with --threads workers, and
        prints MB/s and tokens/s as text and one JSON line. Use a release build.
        """
    )

    @Option(help: "A tokenizer.json file.")
    var tokenizer: String = "../shared/tokenizers/llama3/tokenizer.json"

    @Option(help: "A folder of JSON/JSONL datasets for the corpus.")
    var datasets: String = "../shared/datasets"

    @Option(parsing: .unconditional, help: "Corpus size in megabytes.")
    var mb: Int = 10

    @Option(parsing: .unconditional, help: "Workers for the parallel figure. Default: all cores.")
    var threads: Int?

    func validate() throws {
        guard mb >= 1 else { throw ValidationError("--mb must be ≥ 1 (got \(mb))") }
        if let threads, threads < 1 { throw ValidationError("--threads must be ≥ 1 (got \(threads))") }
    }

    func run() async throws {
        let loaded = try Tokenizer(contentsOf: URL(fileURLWithPath: tokenizer))
        let texts = try TokenizeBenchmark.corpus(fromDatasetsIn: URL(fileURLWithPath: datasets), targetBytes: mb * 1_000_000)
        let single = TokenizeBenchmark.run(loaded, texts: texts, threads: 1, repeats: 2)
        let parallel = TokenizeBenchmark.run(loaded, texts: texts, threads: max(1, threads ?? ProcessInfo.processInfo.activeProcessorCount), repeats: 2)
        print("tailor bench tokenize: \(tokenizer), \(fmt(Double(single.bytes) / 1e6, 1)) MB, \(single.tokens) tokens")
        print("  1 thread    \(fmt(single.megabytesPerSecond, 2)) MB/s  \(fmt(single.tokensPerSecond, 0)) tokens/s")
        print("  \(parallel.threads) threads   \(fmt(parallel.megabytesPerSecond, 2)) MB/s  \(fmt(parallel.tokensPerSecond, 0)) tokens/s")
        let line: JSONValue = [
            "tool": "tailor", "bench": "tokenize", "mb_per_s": rounded(single.megabytesPerSecond, 2),
            "mb_per_s_parallel": rounded(parallel.megabytesPerSecond, 2), "threads": .int(parallel.threads),
            "tokens": .int(single.tokens),
        ]
        print(line.text(.python))
    }
}
