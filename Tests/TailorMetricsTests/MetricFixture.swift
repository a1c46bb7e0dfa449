import Foundation
import TailorMetrics
import TailorTestSupport
import XCTest

/// Tests/Fixtures/eval/metrics.json, written by scripts/reference/make_eval_metric_fixtures.py from the peers.
struct MetricFixture {
    struct Pair {
        var prediction: String
        var label: String
        var jiebaPrediction: [String]
        var jiebaLabel: [String]
        var llamaFactory: [String: Double]
        var rougeScore: [String: [String: Double]]
        var tokens: [String: [[String]]]
        var sentenceSacreBLEU: [String: Double]
    }

    var pairs: [Pair]
    var corpus: [String: [String: Double]]
    var segments: [(text: String, words: [String])]

    static let shared: MetricFixture? = try? load()

    static func load() throws -> MetricFixture {
        let data = try Data(contentsOf: TestPaths.fixture("eval/metrics.json"))
        guard let root = try JSONSerialization.jsonObject(with: data) as? [String: Any],
              let pairs = root["pairs"] as? [[String: Any]], let corpus = root["corpus"] as? [String: [String: Double]],
              let segments = root["segments"] as? [[String: Any]] else { throw CocoaError(.fileReadCorruptFile) }
        return MetricFixture(
            pairs: pairs.map { p in
                Pair(prediction: p["prediction"] as? String ?? "", label: p["label"] as? String ?? "",
                     jiebaPrediction: p["jieba_prediction"] as? [String] ?? [], jiebaLabel: p["jieba_label"] as? [String] ?? [],
                     llamaFactory: p["llamafactory"] as? [String: Double] ?? [:],
                     rougeScore: p["rouge_score"] as? [String: [String: Double]] ?? [:],
                     tokens: p["sacrebleu_tokens"] as? [String: [[String]]] ?? [:],
                     sentenceSacreBLEU: p["sentence_sacrebleu"] as? [String: Double] ?? [:])
            },
            corpus: corpus,
            segments: segments.map { ($0["text"] as? String ?? "", $0["jieba"] as? [String] ?? []) })
    }

    static func get() throws -> MetricFixture {
        guard let shared else { throw XCTSkip("Tests/Fixtures/eval/metrics.json did not load") }
        return shared
    }
}

/// jieba's files, or a skip that says how to fetch them.
enum JiebaFixture {
    static let loaded: Result<Jieba, Error> = Result { try Jieba(folder: Jieba.defaultFolder()) }

    static func get() throws -> Jieba {
        switch loaded {
        case let .success(jieba): return jieba
        case let .failure(error):
            throw XCTSkip("jieba's dictionary is not available (\(error)); run scripts/fetch_jieba.sh (pip download of jieba 0.42.1) or set TAILOR_JIEBA_DIR")
        }
    }
}

/// Scalar-exact comparison (Swift's String == would equate canonically equivalent texts).
func scalarsOf(_ words: [String]) -> [[UInt32]] { words.map { $0.unicodeScalars.map(\.value) } }
