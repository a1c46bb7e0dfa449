import Foundation
@testable import TailorMetrics
import XCTest

final class TextMetricsTests: XCTestCase {
    func testExactAndContains() {
        let samples = [
            TextMetrics.Sample(prediction: "  Paris\n", reference: "Paris"),
            TextMetrics.Sample(prediction: "It is Paris.", reference: "Paris"),
            TextMetrics.Sample(prediction: "I am Lumen, made by the Tailor project.", reference: "", expected: ["Lumen", "Tailor"]),
            TextMetrics.Sample(prediction: "I am Lumen.", reference: "", expected: ["Lumen", "Tailor"]),
        ]
        let table = TextMetrics.score(samples, metrics: [.exact, .contains], jieba: nil)
        XCTAssertEqual(table["exact"], 25)
        XCTAssertEqual(table["contains"], 75)
        // Scalars, not canonical equivalence: é precomposed is not e + combining acute, as in Python.
        XCTAssertFalse(TextMetrics.exactMatch("\u{e9}", "e\u{301}"))
    }

    func testUnknownMetricListsTheKnownOnes() {
        XCTAssertThrowsError(try EvalMetric.parse("ppl,bleu")) { error in
            XCTAssertEqual(error as? MetricsError, .unknownMetric("bleu"))
            let text = String(describing: error)
            for metric in EvalMetric.allCases { XCTAssertTrue(text.contains(metric.rawValue), text) }
        }
        XCTAssertEqual(try EvalMetric.parse(" ppl, rouge ,ppl"), [.ppl, .rouge])
    }

    func testWithoutJiebaTheOtherMetricsStillRun() {
        let table = TextMetrics.score([TextMetrics.Sample(prediction: "a b c d", reference: "a b c d")],
                                      metrics: [.bleu4, .rouge, .sacrebleu, .exact], jieba: nil)
        XCTAssertNil(table["bleu-4"])
        XCTAssertNil(table["rouge-1"])
        XCTAssertEqual(try XCTUnwrap(table["sacrebleu-13a"]), 100, accuracy: 1e-9)
        XCTAssertEqual(table["exact"], 100)
    }

    func testMissingJiebaFolderIsAClearError() {
        let folder = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("no-jieba-\(UUID().uuidString)")
        XCTAssertThrowsError(try Jieba(folder: folder)) { error in
            XCTAssertEqual(error as? MetricsError, .jiebaMissing(folder: folder.path, file: "dict.txt"))
            XCTAssertTrue(String(describing: error).contains("fetch_jieba.sh"))
        }
    }

    func testPythonRoundIsCorrectlyRounded() {
        // 2.675 is 2.67499999999999982236431605997495353221893310546875 in binary: Python rounds it down.
        XCTAssertEqual(PythonText.round(2.675, digits: 2), 2.67)
        XCTAssertEqual(PythonText.round(66.666666666, digits: 4), 66.6667)
        XCTAssertEqual(PythonText.round(0.125, digits: 2), 0.12)  // an exact tie goes to even
        XCTAssertEqual(PythonText.round(99.99995, digits: 4), 99.9999)  // below the tie in binary, as Python says
        XCTAssertEqual(PythonText.round(99.999951, digits: 4), 100.0)
        XCTAssertEqual(PythonText.round(0, digits: 4), 0)
    }

    func testFsum() {
        XCTAssertEqual(ExactSum.fsum([1e100, 1.0, -1e100]), 1.0)
        XCTAssertEqual(ExactSum.fsum([0.1, 0.2, 0.3]), 0.6)
    }
}
