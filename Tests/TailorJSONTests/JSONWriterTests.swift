import Foundation
import TailorJSON
import XCTest

/// The writer against Python's `json.dumps` (expected texts printed by Python 3 and pasted here).
final class JSONWriterTests: XCTestCase {
    /// Every kind of value, in the order Python's dict literal gives.
    static let sample: JSONValue = [
        "z": 1,
        "a": [1.0, 2e3, -3, 1e16, 1e15, 1e-5, 0.1, -0.0, 123456789012345678.0, 1.5e-7, .double(.leastNonzeroMagnitude), 1.7976931348623157e308],
        "s": "é\"\\/\n\r\t\u{08}\u{0C}\u{00}\u{1F}\u{7F}\u{2028}😀",
        "e": [:], "l": [], "n": nil, "t": true, "f": false,
        "big": .bigInteger("18446744073709551615"), "neg": .int(.min),
        "nan": [.double(.nan), .double(.infinity), .double(-.infinity)],
    ]

    static let numbers = "[1.0, 2000.0, -3, 1e+16, 1000000000000000.0, 1e-05, 0.1, -0.0, 1.2345678901234568e+17, 1.5e-07, 5e-324, 1.7976931348623157e+308]"

    func testPythonDefault() {
        // json.dumps(v)
        let expected = #"{"z": 1, "a": "# + Self.numbers + #", "s": "\u00e9\"\\/\n\r\t\b\f\u0000\u001f\u007f\u2028\ud83d\ude00", "e": {}, "l": [], "n": null, "t": true, "f": false, "big": 18446744073709551615, "neg": -9223372036854775808, "nan": [NaN, Infinity, -Infinity]}"#
        XCTAssertEqual(Self.sample.text(.python), expected)
    }

    func testPythonWithoutEnsureASCII() {
        // json.dumps(v, ensure_ascii=False): only quotes, backslashes and control characters are escaped; U+007F stays.
        let expected = #"{"z": 1, "a": "# + Self.numbers + #", "s": "é\"\\/\n\r\t\b\f\u0000\u001f"# + "\u{7F}\u{2028}😀" + #"", "e": {}, "l": [], "n": null, "t": true, "f": false, "big": 18446744073709551615, "neg": -9223372036854775808, "nan": [NaN, Infinity, -Infinity]}"#
        XCTAssertEqual(Self.sample.text(.python.ensuringASCII(false)), expected)
    }

    func testCompact() {
        // json.dumps(v, separators=(",", ":"), ensure_ascii=False), which is also serde_json's to_string.
        let expected = #"{"z":1,"a":"# + Self.numbers.replacingOccurrences(of: ", ", with: ",") + #","s":"é\"\\/\n\r\t\b\f\u0000\u001f"# + "\u{7F}\u{2028}😀" + #"","e":{},"l":[],"n":null,"t":true,"f":false,"big":18446744073709551615,"neg":-9223372036854775808,"nan":[NaN,Infinity,-Infinity]}"#
        XCTAssertEqual(Self.sample.text(.compact), expected)
    }

    func testIndentedSorted() {
        // json.dumps(v, indent=2, sort_keys=True)
        let numbers = Self.numbers.dropFirst().dropLast().components(separatedBy: ", ").map { "    " + $0 }.joined(separator: ",\n")
        let expected = "{\n  \"a\": [\n" + numbers + "\n  ],\n" + #"""
          "big": 18446744073709551615,
          "e": {},
          "f": false,
          "l": [],
          "n": null,
          "nan": [
            NaN,
            Infinity,
            -Infinity
          ],
          "neg": -9223372036854775808,
          "s": "\u00e9\"\\/\n\r\t\b\f\u0000\u001f\u007f\u2028\ud83d\ude00",
          "t": true,
          "z": 1
        }
        """#
        XCTAssertEqual(Self.sample.text(.pythonIndented.sortingKeys()), expected)
    }

    func testIndentZeroAndCustomSeparators() {
        let value: JSONValue = ["b": [1, ["c": []]], "a": [:]]
        // json.dumps(v, indent=0)
        XCTAssertEqual(value.text(JSONFormat(indent: "", ensureASCII: true)), "{\n\"b\": [\n1,\n{\n\"c\": []\n}\n],\n\"a\": {}\n}")
        // json.dumps(v, indent="\t", separators=(", ", " = "))
        XCTAssertEqual(value.text(JSONFormat(indent: "\t", itemSeparator: ", ", keySeparator: " = ", ensureASCII: true)),
                       "{\n\t\"b\" = [\n\t\t1, \n\t\t{\n\t\t\t\"c\" = []\n\t\t}\n\t], \n\t\"a\" = {}\n}")
    }

    func testPrettyIsServeJSONStyle() {
        // tokenizers' save(pretty=True): two spaces, ": ", UTF-8 as is, empty containers on one line.
        let value: JSONValue = ["vocab": ["é": 0, "▁a": 1], "merges": [], "added_tokens": [["id": 0, "special": true]]]
        XCTAssertEqual(value.text(.pretty), """
        {
          "vocab": {
            "é": 0,
            "▁a": 1
          },
          "merges": [],
          "added_tokens": [
            {
              "id": 0,
              "special": true
            }
          ]
        }
        """)
    }

    func testSortKeysUsesCodePointOrder() {
        // json.dumps({"é": 1, "e\u0301": 2, "a": 3, "B": 4, "\U0001F600": 5, "\uffff": 6}, sort_keys=True)
        let value = JSONValue.object(JSONObject([("é", 1), ("e\u{301}", 2), ("a", 3), ("B", 4), ("😀", 5), ("\u{FFFF}", 6)]))
        XCTAssertEqual(value.text(.python.sortingKeys()),
                       #"{"B": 4, "a": 3, "e\u0301": 2, "\u00e9": 1, "\uffff": 6, "\ud83d\ude00": 5}"#)
    }

    func testPythonFloatRepr() {
        // [repr(x) for x in ...]
        let cases: [(Double, String)] = [
            (1e16, "1e+16"), (1e15, "1000000000000000.0"), (9999999999999998.0, "9999999999999998.0"), (0.0001, "0.0001"),
            (0.00001, "1e-05"), (1e22, "1e+22"), (2.5, "2.5"), (100.0, "100.0"), (1.0 / 3, "0.3333333333333333"),
            (.leastNonzeroMagnitude, "5e-324"), (-1.5e-10, "-1.5e-10"), (.nan, "nan"), (-.infinity, "-inf"),
        ]
        for (value, text) in cases { XCTAssertEqual(pythonFloatRepr(value), text) }
        XCTAssertEqual(pythonJSONFloat(.nan), "NaN")
        XCTAssertEqual(pythonJSONFloat(.infinity), "Infinity")
        XCTAssertEqual(pythonJSONFloat(0.5), "0.5")
    }

    func testWritesWhatItReadsByteForByte() throws {
        // A file written by json.dumps(indent=2, sort_keys=True) reads and writes back to the same bytes,
        // integers staying integers and floats floats.
        let text = """
        {
          "lora_alpha": 16,
          "lora_dropout": 0.05,
          "r": 16,
          "rms_norm_eps": 1e-06,
          "rope_theta": 10000.0,
          "seed": 18446744073709551615,
          "target_modules": [
            "q_proj",
            "v_proj"
          ]
        }
        """
        XCTAssertEqual(try JSONValue(parsing: text).text(.pythonIndented.sortingKeys()), text)
    }

    /// Files the peers wrote read and write back byte for byte in the format each peer uses.
    func testPeerFilesWriteBackByteForByte() throws {
        let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures")
        let transformers = JSONFormat.pythonIndented.sortingKeys()
        let cases: [(String, JSONFormat, String)] = [
            ("generation/adapters/llama/adapter_config.json", transformers, ""),    // peft save_pretrained
            ("generation/chat-llama/config.json", transformers, "\n"),              // transformers PretrainedConfig
            ("formats/safetensors/sharded/model.safetensors.index.json", transformers, "\n"),
            ("trainer_state/trainer_state.json", transformers, "\n"),               // Trainer
            ("generation/chat-llama/generation_config.json", .pythonIndented, ""),
            ("generation/chat-llama/tokenizer.json", .pretty, ""),                  // tokenizers, pretty
            ("tokenizers/llama3/tokenizer.json", .compact, ""),                     // tokenizers, compact
            ("tokenizers/qwen2/tokenizer.json", .compact, ""),
            ("generation/processors.json", .python, ""),                             // json.dumps(x)
        ]
        for (path, format, end) in cases {
            let bytes = [UInt8](try Data(contentsOf: fixtures.appendingPathComponent(path)))
            let value = try JSONValue(parsing: bytes, file: path, options: .python)
            XCTAssertTrue(value.bytes(format) + Array(end.utf8) == bytes, path)
        }
    }
}
