import TailorHub
import XCTest

/// `Glob` is Python's fnmatch.fnmatchcase, as huggingface_hub's allow/ignore patterns use it.
final class GlobTests: XCTestCase {
    func testFnmatchSemantics() {
        let cases: [(String, String, Bool)] = [
            ("*.json", "config.json", true), ("*.json", "sub/config.json", true), ("*.json", "config.jsonl", false),
            ("model-*.safetensors", "model-00001-of-00002.safetensors", true), ("?.txt", "a.txt", true), ("?.txt", "ab.txt", false),
            ("[ab].txt", "b.txt", true), ("[!ab].txt", "b.txt", false), ("[!ab].txt", "c.txt", true), ("[a-c]x", "bx", true),
            ("original/", "original/params.json", true), ("original/*", "original/a/b", true), ("original/", "originals/x", false),
            ("[x", "[x", true), ("*", "", true), ("", "", true), ("README.md", "readme.md", false),
        ]
        for (pattern, text, expected) in cases { XCTAssertEqual(Glob(pattern).matches(text), expected, "fnmatch(\(text), \(pattern))") }
        XCTAssertEqual(Glob.filter(["a.json", "b.bin", "c/d.json"], include: ["*.json"], exclude: ["c/*"]), ["a.json"])
        XCTAssertEqual(Glob.filter(["a.json", "b.bin"], include: [], exclude: []), ["a.json", "b.bin"])
    }
}
