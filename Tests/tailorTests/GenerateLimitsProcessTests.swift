import Foundation
import TailorTestSupport
import XCTest

/// Flags at the edge of Int, through the real binary (issue 27: `--max-new-tokens 9223372036854775807`
/// overflowed `prompt.count + maxNewTokens` and trapped with signal 4).
final class GenerateLimitsProcessTests: XCTestCase {
    func testMaxNewTokensIntMaxIsAClearErrorNotATrap() throws {
        guard let binary = TestPaths.tailorBinary else { throw XCTSkip("the tailor executable is not built beside the tests") }
        let model = TestPaths.fixture("generation/chat-llama").path
        let (status, output) = try TestPaths.run(binary, ["generate", "--model", model, "--prompt", "hi",
                                                          "--max-new-tokens", "9223372036854775807"])
        XCTAssertEqual(status, 1, "a clear error, not signal 4 (status 132):\n\(output)")
        XCTAssertTrue(output.contains("max_new_tokens"), output)
        XCTAssertFalse(output.lowercased().contains("fatal error"), output)
    }
}
