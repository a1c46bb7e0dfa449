import Foundation
import TailorData
import TailorTestSupport
import XCTest

/// LLaMA-Factory's dataset_info.json: names resolve to local files and formats, and every entry
/// Tailor would read differently from LLaMA-Factory is refused naming the entry and field.
final class DatasetRegistryTests: XCTestCase {
    var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("tailor-registry-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        // Entries shaped as LLaMA-Factory's data/dataset_info.json writes them.
        let info = """
        {
          "identity": {"file_name": "identity.json"},
          "alpaca_en_demo": {"file_name": "alpaca_en_demo.json"},
          "glaive_toolcall_en_demo": {"file_name": "glaive.json", "formatting": "sharegpt", "columns": {"messages": "conversations", "tools": "tools"}},
          "chat": {"file_name": "chat.json", "formatting": "sharegpt", "columns": {"messages": "messages"},
                   "tags": {"role_tag": "role", "content_tag": "content", "user_tag": "user", "assistant_tag": "assistant"}},
          "dpo_en_demo": {"file_name": "dpo.json", "ranking": true, "formatting": "sharegpt",
                          "columns": {"messages": "conversations", "chosen": "chosen", "rejected": "rejected"}},
          "kto_en_demo": {"file_name": "kto.json", "formatting": "sharegpt", "columns": {"messages": "messages", "kto_tag": "label"}},
          "c4_demo": {"file_name": "c4.jsonl", "columns": {"prompt": "text"}},
          "renamed": {"file_name": "r.json", "columns": {"prompt": "question", "response": "answer"}},
          "on_hub": {"hf_hub_url": "someone/data"}
        }
        """
        try info.write(to: folder.appendingPathComponent("dataset_info.json"), atomically: true, encoding: .utf8)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: folder) }

    func resolve(_ items: [String]) throws -> [DatasetRegistry.Resolved] { try DatasetRegistry.resolve(items, folder: folder.path) }

    func testNamesResolveToFilesAndFormats() throws {
        let resolved = try resolve(["identity,alpaca_en_demo", "glaive_toolcall_en_demo", "chat", "c4_demo", "dpo_en_demo"])
        XCTAssertEqual(resolved.map(\.name), ["identity", "alpaca_en_demo", "glaive_toolcall_en_demo", "chat", "c4_demo", "dpo_en_demo"])
        XCTAssertEqual(resolved.map { URL(fileURLWithPath: $0.path).lastPathComponent },
                       ["identity.json", "alpaca_en_demo.json", "glaive.json", "chat.json", "c4.jsonl", "dpo.json"])
        XCTAssertTrue(resolved.allSatisfy { $0.path.hasPrefix(folder.path + "/") })
        XCTAssertEqual(resolved.map(\.format), [.alpaca, .alpaca, .sharegpt, .messages, .text, nil],
                       "ranking entries are read by their fields (and then refused by tailor train as preference data)")
    }

    func testPathsStayPaths() throws {
        XCTAssertEqual(try resolve(["train.jsonl", "data/*.json", folder.path]).map(\.path), ["train.jsonl", "data/*.json", folder.path])
        XCTAssertTrue(try resolve(["train.jsonl"]).allSatisfy { $0.name == nil && $0.format == nil })
    }

    func testEntriesReadDifferentlyAreRefused() throws {
        let file = folder.appendingPathComponent("dataset_info.json").path
        let cases: [(String, String)] = [
            ("kto_en_demo", "option dataset: \(file): 'kto_en_demo'.columns.kto_tag makes it a KTO dataset; tailor train trains stage sft (KTO is not built yet)"),
            ("renamed", "option dataset: \(file): 'renamed'.columns.prompt maps to 'question', but Tailor reads 'instruction' there; rename the field in the file, or use dataset_format columns with prompt_template / response_template"),
            ("on_hub", "option dataset: \(file): 'on_hub'.hf_hub_url names a dataset on a hub (someone/data); Tailor reads local files: download it and give file_name"),
        ]
        for (name, message) in cases {
            XCTAssertThrowsError(try resolve([name]), name) { error in XCTAssertEqual("\(error)", message) }
        }
        XCTAssertThrowsError(try resolve(["missing"])) { error in
            XCTAssertTrue("\(error)".hasPrefix("option dataset: 'missing' is neither a file nor a name in \(file) (it names 9: alpaca_en_demo, c4_demo, chat,"), "\(error)")
        }
    }

    func testNoRegistryAndMalformedRegistry() throws {
        let empty = folder.appendingPathComponent("empty")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        XCTAssertThrowsError(try DatasetRegistry.resolve(["identity"], folder: empty.path)) { error in
            XCTAssertEqual("\(error)", "option dataset: 'identity' is not a file, and \(empty.path) has no dataset_info.json to look the name up in; give a path, or set dataset_dir to LLaMA-Factory's data folder")
        }
        try #"{"identity": {"file_name": "identity.json"},"#.appending("\n  }").write(to: empty.appendingPathComponent("dataset_info.json"), atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try DatasetRegistry.resolve(["identity"], folder: empty.path)) { error in
            XCTAssertTrue("\(error)".contains("\(empty.path)/dataset_info.json:2:3"), "\(error)")
        }
    }
}
