import Foundation
import TailorTestSupport
import TailorTokenizers
import XCTest

/// Seeded fuzzing of tokenizer.json, tokenizer_config.json and chat templates (see `Fuzz`): a mutated
/// file loads (and then encodes, decodes, renders) or throws `TokenizerError` / `TemplateError`.
final class TokenizerFuzzTests: XCTestCase {
    static let texts = ["Hello world, 123 ünïcödé 你好 <|im_start|> <s></s> \n\t  ", "", " ", "a\u{0}b", "🙂🙂 x"]
    static let conversation: [ChatMessage] = [
        ChatMessage(role: "system", content: "You are brief."), ChatMessage(role: "user", content: "What is 2+2?"),
        ChatMessage(role: "assistant", content: "4"), ChatMessage(role: "user", content: "And {{ 3 }}?"),
    ]

    func fixtureFiles(_ name: String) throws -> [URL] {
        try FileManager.default.contentsOfDirectory(at: TestPaths.fixture("tokenizers"), includingPropertiesForKeys: nil)
            .map { $0.appendingPathComponent(name) }
    }

    func testTokenizerJSON() throws {
        let corpus = Fuzz.files(try fixtureFiles("tokenizer.json") + [TestPaths.fixture("generation/chat-llama/tokenizer.json")])
        Fuzz.run("tokenizer.json", seed: 0x70C, cases: 300, corpus: corpus, text: true, expected: { $0 is TokenizerError }) { bytes in
            let tokenizer = try Tokenizer(json: bytes, file: "m/tokenizer.json")
            for text in Self.texts {
                let ids = tokenizer.encode(text)
                _ = tokenizer.decode(ids)
                _ = tokenizer.decode(ids + [0, 1, 2], skipSpecialTokens: true)
            }
        }
    }

    func testTokenizerConfigAndItsChatTemplate() throws {
        let corpus = Fuzz.files(try fixtureFiles("tokenizer_config.json") + [TestPaths.fixture("generation/chat-llama/tokenizer_config.json")])
        Fuzz.run("tokenizer_config.json", seed: 0x70CC, cases: 400, corpus: corpus, text: true,
                 expected: { $0 is TokenizerError || $0 is TemplateError }) { bytes in
            let url = try Fuzz.write(bytes, name: "tokenizer_config.json")
            defer { try? FileManager.default.removeItem(at: url.deletingLastPathComponent()) }
            let config = try TokenizerConfig(contentsOf: url)
            if let source = config.chatTemplate {
                _ = try ChatTemplate(source: source, name: url.path).render(messages: Self.conversation, addGenerationPrompt: true)
            }
        }
    }

    func testChatTemplatesThroughTheInterpreter() throws {
        var urls: [URL?] = [TestPaths.fixture("data/parity.jinja")]
        if let folder = TestPaths.sharedFile("templates") {
            urls += try FileManager.default.contentsOfDirectory(at: folder, includingPropertiesForKeys: nil).filter { $0.pathExtension == "jinja" }
        } else {
            print("fuzz chat templates: ../shared/templates is absent; only the committed fixture template is mutated")
        }
        Fuzz.run("chat-template", seed: 0x71A, cases: 1500, corpus: Fuzz.files(urls), text: true, expected: { $0 is TemplateError }) { bytes in
            let template = try ChatTemplate(source: String(decoding: bytes, as: UTF8.self), name: "m/tokenizer_config.json")
            _ = try template.render(messages: Self.conversation, addGenerationPrompt: true, extra: ["bos_token": "<s>", "eos_token": "</s>"])
        }
    }
}
