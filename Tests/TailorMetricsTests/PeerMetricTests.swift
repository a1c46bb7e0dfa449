import Foundation
@testable import TailorMetrics
import XCTest

/// Every metric equal to its peer's to 1e-6 on the committed fixture texts.
final class PeerMetricTests: XCTestCase {
    let tolerance = 1e-6

    func testSacreBLEUTokenizersMatch() throws {
        let fixture = try MetricFixture.get()
        for pair in fixture.pairs {
            for tokenizer in SacreBLEU.Tokenizer.allCases {
                let expected = try XCTUnwrap(pair.tokens[tokenizer.rawValue])
                let got = [pair.prediction, pair.label].map { tokenizer.tokenize($0).map { PythonText.string($0) } }
                XCTAssertEqual(got.map(scalarsOf), expected.map(scalarsOf), "\(tokenizer) tokens of \(pair.prediction.debugDescription) / \(pair.label.debugDescription)")
            }
        }
    }

    func testSacreBLEUCorpusAndSentenceScoresMatch() throws {
        let fixture = try MetricFixture.get()
        for tokenizer in SacreBLEU.Tokenizer.allCases {
            let corpus = SacreBLEU.corpus(hypotheses: fixture.pairs.map(\.prediction), references: fixture.pairs.map(\.label), tokenizer: tokenizer)
            XCTAssertEqual(corpus.score, try XCTUnwrap(fixture.corpus["sacrebleu"]?[tokenizer.rawValue]), accuracy: tolerance, "corpus \(tokenizer)")
            for pair in fixture.pairs {
                let one = SacreBLEU.corpus(hypotheses: [pair.prediction], references: [pair.label], tokenizer: tokenizer)
                XCTAssertEqual(one.score, try XCTUnwrap(pair.sentenceSacreBLEU[tokenizer.rawValue]), accuracy: tolerance,
                               "\(tokenizer) \(pair.prediction.debugDescription) / \(pair.label.debugDescription)")
            }
        }
    }

    func testRougeScoreMatches() throws {
        let fixture = try MetricFixture.get()
        var sums: [String: Double] = [:]
        for pair in fixture.pairs {
            for kind in RougeScore.Kind.allCases {
                let got = RougeScore.score(kind, target: pair.label, prediction: pair.prediction)
                let expected = try XCTUnwrap(pair.rougeScore[kind.rawValue])
                let label = "\(kind) \(pair.prediction.debugDescription) / \(pair.label.debugDescription)"
                XCTAssertEqual(got.precision, try XCTUnwrap(expected["precision"]), accuracy: tolerance, label)
                XCTAssertEqual(got.recall, try XCTUnwrap(expected["recall"]), accuracy: tolerance, label)
                XCTAssertEqual(got.fmeasure, try XCTUnwrap(expected["fmeasure"]), accuracy: tolerance, label)
                sums[kind.rawValue, default: 0] += got.fmeasure
            }
        }
        let samples = fixture.pairs.map { TextMetrics.Sample(prediction: $0.prediction, reference: $0.label) }
        let table = TextMetrics.score(samples, metrics: [.rougeScore], jieba: nil)
        for (kind, expected) in try XCTUnwrap(fixture.corpus["rouge_score_mean_f"]) {
            XCTAssertEqual(try XCTUnwrap(table[kind]), expected, accuracy: tolerance, kind)
        }
    }

    func testJiebaSegmentationIsJiebas() throws {
        let jieba = try JiebaFixture.get(), fixture = try MetricFixture.get()
        for pair in fixture.pairs {
            XCTAssertEqual(scalarsOf(jieba.cut(pair.prediction)), scalarsOf(pair.jiebaPrediction), pair.prediction.debugDescription)
            XCTAssertEqual(scalarsOf(jieba.cut(pair.label)), scalarsOf(pair.jiebaLabel), pair.label.debugDescription)
        }
        for segment in fixture.segments {
            XCTAssertEqual(scalarsOf(jieba.cut(segment.text)), scalarsOf(segment.words), segment.text.debugDescription)
        }
    }

    func testLlamaFactoryBleuAndRougeMatch() throws {
        let jieba = try JiebaFixture.get(), fixture = try MetricFixture.get()
        for pair in fixture.pairs {
            let got = LlamaFactorySimilarity.score(prediction: pair.prediction, label: pair.label, jieba: jieba)
            let label = "\(pair.prediction.debugDescription) / \(pair.label.debugDescription)"
            XCTAssertEqual(got.bleu4, try XCTUnwrap(pair.llamaFactory["bleu-4"]), accuracy: tolerance, "bleu-4 " + label)
            XCTAssertEqual(got.rouge1, try XCTUnwrap(pair.llamaFactory["rouge-1"]), accuracy: tolerance, "rouge-1 " + label)
            XCTAssertEqual(got.rouge2, try XCTUnwrap(pair.llamaFactory["rouge-2"]), accuracy: tolerance, "rouge-2 " + label)
            XCTAssertEqual(got.rougeL, try XCTUnwrap(pair.llamaFactory["rouge-l"]), accuracy: tolerance, "rouge-l " + label)
        }
        let samples = fixture.pairs.map { TextMetrics.Sample(prediction: $0.prediction, reference: $0.label) }
        let table = TextMetrics.score(samples, metrics: [.bleu4, .rouge], jieba: jieba)
        for (column, expected) in try XCTUnwrap(fixture.corpus["llamafactory"]) {
            XCTAssertEqual(try XCTUnwrap(table[column]), expected, accuracy: tolerance, column)
        }
    }
}
