import Foundation
import TailorData
import TailorTestSupport
import XCTest

/// Seeded fuzzing of dataset files — JSON arrays, JSON Lines and CSV (see `Fuzz`): a mutated file
/// loads or throws `DataError`, within the time bound.
final class DatasetFuzzTests: XCTestCase {
    /// The first `count` records of a shared JSON array file, as a small JSON array.
    func head(ofArray name: String, _ count: Int) -> [UInt8]? {
        guard let url = TestPaths.sharedFile("datasets/" + name), let data = try? Data(contentsOf: url),
              let items = try? JSONSerialization.jsonObject(with: data) as? [Any],
              let out = try? JSONSerialization.data(withJSONObject: Array(items.prefix(count)), options: [.prettyPrinted]) else { return nil }
        return [UInt8](out)
    }

    /// The first `count` lines of a shared JSON Lines file.
    func head(ofLines name: String, _ count: Int) -> [UInt8]? {
        guard let url = TestPaths.sharedFile("datasets/" + name), let text = try? String(contentsOf: url, encoding: .utf8) else { return nil }
        return Array((text.split(separator: "\n").prefix(count).joined(separator: "\n") + "\n").utf8)
    }

    func fuzz(_ name: String, ext: String, seed: UInt64, cases: Int, corpus: [[UInt8]]) {
        Fuzz.run(name, seed: seed, cases: cases, corpus: corpus, text: true, expected: { $0 is DataError }) { bytes in
            let url = try Fuzz.write(bytes, name: "data.\(ext)")
            defer { try? FileManager.default.removeItem(at: url.deletingLastPathComponent()) }
            _ = try DatasetLoader().load(paths: [url.path])
        }
    }

    func testJSONArrays() {
        let corpus = Fuzz.files([TestPaths.fixture("data/encoding.json")])
            + ["alpaca_en_demo.json", "identity.json", "glaive_toolcall_en_demo.json", "dpo_en_demo.json", "kto_en_demo.json"].compactMap { head(ofArray: $0, 4) }
        fuzz("dataset-json", ext: "json", seed: 0xDA7A, cases: 500, corpus: corpus)
    }

    func testJSONLines() {
        let corpus = Fuzz.files([TestPaths.fixture("data/parity.jsonl"), TestPaths.fixture("data/parity-alpaca.jsonl"),
                                 TestPaths.fixture("data/parity-invalid.jsonl")])
            + ["c4_demo.jsonl", "v1_sft_demo.jsonl"].compactMap { head(ofLines: $0, 6) }
        fuzz("dataset-jsonl", ext: "jsonl", seed: 0xDA7B, cases: 500, corpus: corpus)
    }

    func testCSV() {
        let csv = "instruction,input,output\n\"Say hi\",,\"Hi, there\"\n\"Add \"\"1\"\" and 2\",\"1 2\",3\nName a colour,,\"red\nor blue\"\n"
        fuzz("dataset-csv", ext: "csv", seed: 0xDA7C, cases: 500, corpus: [Array(csv.utf8), Array(csv.replacingOccurrences(of: ",", with: "\t").utf8)])
    }
}
