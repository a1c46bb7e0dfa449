import Foundation
import XCTest
@testable import TailorExport
import TailorTestSupport
import TailorTokenizers

/// The Ollama Modelfile beside a GGUF export, for real chat templates (Tests/Fixtures/templates).
final class OllamaModelfileTests: XCTestCase {
    /// A fixture's template: inline, or its file in ../shared/templates (skipped when that checkout is absent).
    private func template(_ name: String) throws -> String {
        struct Fixture: Decodable { var source: String?; var file: String? }
        let fixture = try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: TestPaths.fixture("templates/\(name).json")))
        if let source = fixture.source { return source }
        guard let file = fixture.file, let url = TestPaths.sharedFile("templates/\(file)") else { throw XCTSkip("../shared/templates/\(name) is absent") }
        return try String(contentsOf: url, encoding: .utf8)
    }

    private func make(_ name: String, bos: String? = nil, eos: String? = nil) throws -> Result<OllamaModelfile, OllamaModelfile.Refusal> {
        OllamaModelfile.make(chatTemplate: try template(name), gguf: "model.gguf", bosToken: bos, eosToken: eos)
    }

    func testSmolLM2IsChatMLWithItsDefaultSystemPrompt() throws {
        let modelfile = try make("SmolLM2-135M-Instruct", eos: "<|im_end|>").get()
        XCTAssertEqual(modelfile.format, .chatML)
        XCTAssertEqual(modelfile.system, "You are a helpful AI assistant named SmolLM, trained by Hugging Face")
        XCTAssertTrue(modelfile.text.hasPrefix("FROM ./model.gguf\n\nTEMPLATE \"\"\"{{- if .System }}<|im_start|>system\n"))
        XCTAssertTrue(modelfile.text.contains("PARAMETER stop \"<|im_end|>\"\n"))
        XCTAssertTrue(modelfile.text.hasSuffix("SYSTEM \"\"\"You are a helpful AI assistant named SmolLM, trained by Hugging Face\"\"\"\n"))
    }

    func testQwen25IsChatMLWithItsDefaultSystemPrompt() throws {
        let modelfile = try make("Qwen-Qwen2.5-7B-Instruct", eos: "<|im_end|>").get()
        XCTAssertEqual(modelfile.format, .chatML)
        XCTAssertEqual(modelfile.system, "You are Qwen, created by Alibaba Cloud. You are a helpful assistant.")
    }

    func testLlama3WithoutItsBOS() throws {
        let modelfile = try make("builtin-llama3", bos: "<|begin_of_text|>", eos: "<|eot_id|>").get()
        XCTAssertEqual(modelfile.format, .llama3)
        XCTAssertNil(modelfile.system)
        XCTAssertFalse(modelfile.text.contains("SYSTEM"))
        XCTAssertTrue(modelfile.text.contains("PARAMETER stop \"<|eot_id|>\""))
    }

    /// Tailor's builtin "mistral" [INST] template: the system prompt opens the first user turn, BOS is left to
    /// llama.cpp, stops at [INST] / [/INST].
    func testMistralWithoutItsBOS() throws {
        let modelfile = try make("builtin-mistral", bos: "<s>", eos: "</s>").get()
        XCTAssertEqual(modelfile.format, .mistral)
        XCTAssertNil(modelfile.system)
        XCTAssertTrue(modelfile.text.contains("PARAMETER stop \"[INST]\"\nPARAMETER stop \"[/INST]\"\n"))
        XCTAssertTrue(modelfile.text.contains("{{- else if eq .Role \"assistant\" }}{{ .Content }}</s>"))
        let format = OllamaModelfile.Format.mistral
        XCTAssertEqual(format.render(system: "Be brief.", turns: [("user", "Hi"), ("assistant", "Hello."), ("user", "Bye")]),
                       "[INST] Be brief.\n\nHi[/INST]Hello.</s>[INST] Bye[/INST]")
        // A template whose reply does not end in </s> (another eos) renders otherwise: refused.
        guard case .failure = try make("builtin-mistral", bos: "<s>", eos: "<|im_end|>") else { return XCTFail("eos <|im_end|> accepted") }
    }

    func testTemplatesOfOtherFormsAreNotWritten() throws {
        // Llama 3.1 puts its knowledge and today's date into every system prompt: not the plain Llama 3 form.
        for name in ["meta-llama-Llama-3.1-8B-Instruct", "builtin-llama2"] {
            guard case .failure(let refusal) = try make(name, bos: "<s>", eos: "</s>") else { XCTFail(name); continue }
            XCTAssertTrue(refusal.description.hasPrefix("no Ollama Modelfile written: its chat template is not one whose"), name)
        }
        guard case .failure(let none) = OllamaModelfile.make(chatTemplate: nil, gguf: "m.gguf", bosToken: nil, eosToken: nil) else { return XCTFail() }
        XCTAssertEqual(none.reason, "the model has no chat template")
    }

    func testWrittenBesideTheExport() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("tailor-modelfile-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let vocabulary = GGUFVocabulary(model: "gpt2", tokens: ["<|im_end|>"], eosTokenId: 0, chatTemplate: try template("SmolLM2-135M-Instruct"))
        guard case .success(let written) = try GGUFExport.writeModelfile(vocabulary, beside: folder.appendingPathComponent("smol.gguf"))
        else { return XCTFail() }
        XCTAssertEqual(written.path, folder.appendingPathComponent("smol.Modelfile").path)
        XCTAssertEqual(written.format, "ChatML")
        XCTAssertTrue(try String(contentsOfFile: written.path, encoding: .utf8).hasPrefix("FROM ./smol.gguf\n"))
    }
}
