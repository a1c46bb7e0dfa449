import Foundation
import XCTest
import TailorAdapters
@testable import TailorExport
import TailorFormats
import TailorModels
import TailorTensor
import TailorTestSupport
@testable import TailorTokenizers

/// `GGUFExport` on the tiny fixture models (Tests/Fixtures/models, given the chat-llama tokenizer), read back with
/// Tailor's GGUF reader and `tailor import gguf`'s code.
final class GGUFExportTests: XCTestCase {
    static let families = ["llama", "llama-tied", "llama3-rope", "mistral", "qwen2", "qwen3"]

    /// A temporary folder removed when the test ends.
    func temporaryFolder() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("tailor-export-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url
    }

    /// Fixture model `family` with the chat-llama tokenizer files beside it.
    func modelFolder(_ family: String) throws -> URL {
        let folder = try temporaryFolder().appendingPathComponent(family)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let model = TestPaths.fixture("models/\(family)")
        for name in ["config.json", "model.safetensors"] {
            try FileManager.default.copyItem(at: model.appendingPathComponent(name), to: folder.appendingPathComponent(name))
        }
        let chat = TestPaths.fixture("generation/chat-llama")
        for name in ["tokenizer_config.json", "generation_config.json"] {
            try FileManager.default.copyItem(at: chat.appendingPathComponent(name), to: folder.appendingPathComponent(name))
        }
        try Self.tokenizerWithMerge(from: chat).write(to: folder.appendingPathComponent("tokenizer.json"))
        return folder
    }

    /// chat-llama's character-level tokenizer.json with one merge ("h e" -> "he", in place of "_", id 95): llama.cpp
    /// loads no BPE vocabulary without merges.
    static func tokenizerWithMerge(from chat: URL) throws -> Data {
        var tokenizer = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: chat.appendingPathComponent("tokenizer.json"))) as? [String: Any])
        var model = try XCTUnwrap(tokenizer["model"] as? [String: Any])
        var vocab = try XCTUnwrap(model["vocab"] as? [String: Int])
        vocab["_"] = nil
        vocab["he"] = 95
        model["vocab"] = vocab
        model["merges"] = ["h e"]
        tokenizer["model"] = model
        return try JSONSerialization.data(withJSONObject: tokenizer, options: [.sortedKeys])
    }

    func export(_ folder: URL, _ outType: GGUFOutType, adapter: URL? = nil) throws -> (URL, GGUFExport.Summary) {
        let output = try temporaryFolder().appendingPathComponent("model-\(outType.rawValue).gguf")
        var events: [GGUFExportEvent] = []
        let summary = try GGUFExport.run(model: folder, adapter: adapter, output: output,
                                         options: .init(outType: outType, preTokenizer: "gpt-2")) { events.append($0) }
        guard case let .started(count, _)? = events.first else { XCTFail("no start event"); return (output, summary) }
        XCTAssertEqual(events.count, count + 1)
        return (output, summary)
    }

    /// f32: `tailor import gguf` of the export gives the same weights, bit for bit, and the same tokenizer and template.
    func testF32RoundTripOfEveryFamily() throws {
        for family in Self.families {
            let folder = try modelFolder(family)
            let (file, summary) = try export(folder, .f32)
            XCTAssertEqual(summary.architecture, ["qwen2": "qwen2", "qwen3": "qwen3"][family] ?? "llama", family)
            let back = try temporaryFolder()
            let imported = try GGUFImport.run(file: file, output: back)
            let original = try SafetensorsCheckpoint(folder: folder)
            let config = try ModelConfig(contentsOf: folder.appendingPathComponent("config.json"))
            XCTAssertEqual(imported.config.layerCount, config.layerCount, family)
            XCTAssertEqual(imported.config.headDim, config.headDim, family)
            XCTAssertEqual(imported.config.ropeScaling, config.ropeScaling, family)
            XCTAssertEqual(imported.config.tieWordEmbeddings, config.tieWordEmbeddings, family)
            let written = try SafetensorsCheckpoint(folder: back)
            let model = try CausalLM.load(folder: folder, backend: try CPUBackend())
            for (name, _) in model.namedParameters {
                XCTAssertEqual(try written.floats(name), try original.floats(name), "\(family) \(name)")
            }
            // Tokenizer ids and template.
            let a = try PretrainedTokenizer(folder: folder), b = try PretrainedTokenizer(folder: back)
            let text = "Hello world, it's 3 33 tokens!"
            XCTAssertEqual(b.encode(text), a.encode(text), family)
            XCTAssertEqual(b.chatTemplate, a.chatTemplate, family)
            XCTAssertEqual(b.eosTokenIds.first, a.eosTokenIds.first, family)
        }
    }

    /// f16 / bf16: each 2-D weight is the f32 value narrowed; 1-D tensors stay F32.
    func testF16AndBF16() throws {
        let folder = try modelFolder("llama")
        let original = try SafetensorsCheckpoint(folder: folder)
        for outType in [GGUFOutType.f16, .bf16] {
            let (file, summary) = try export(folder, outType)
            let gguf = try GGUFFile(url: file)
            XCTAssertEqual(try gguf.int("general.file_type"), Int(outType.fileType))
            XCTAssertEqual(gguf.tensor("blk.0.attn_norm.weight")?.type, .f32)
            XCTAssertEqual(gguf.tensor("blk.0.ffn_down.weight")?.type, outType.tensorType)
            XCTAssertEqual(summary.typeCounts[outType.tensorType], 2 + 7 * 2)
            let w = try original.floats("model.layers.0.mlp.down_proj.weight")
            let narrowed = w.map { outType == .f16 ? HalfPrecision.f16ToFloat(HalfPrecision.floatToF16($0)) : HalfPrecision.bf16ToFloat(HalfPrecision.floatToBF16($0)) }
            XCTAssertEqual(try gguf.floats("blk.0.ffn_down.weight"), narrowed)
        }
    }

    /// Quantized types: each weight's bytes are GGMLQuantizer's of the (permuted) f32 values.
    func testQuantizedTypes() throws {
        let folder = try modelFolder("llama")
        let (f32File, _) = try export(folder, .f32)
        let f32 = try GGUFFile(url: f32File)
        for outType in [GGUFOutType.q8_0, .q4_0, .q4_1, .q5_0, .q5_1] {
            let (file, _) = try export(folder, outType)
            let gguf = try GGUFFile(url: file)
            for info in gguf.tensors {
                let values = try f32.floats(info.name)
                if info.dims.count == 1 {
                    XCTAssertEqual(info.type, .f32, info.name)
                } else {
                    XCTAssertEqual(info.type, outType.tensorType, info.name)
                }
                XCTAssertEqual(Array(try gguf.bytes(info.name)), try GGMLQuantizer.quantize(values, type: info.type), "\(outType) \(info.name)")
            }
        }
    }

    /// Metadata as convert_hf_to_gguf.py writes it.
    func testMetadata() throws {
        let (file, _) = try export(try modelFolder("llama"), .f16)
        let gguf = try GGUFFile(url: file)
        XCTAssertEqual(Array(gguf.metadataKeys.prefix(3)), ["general.architecture", "general.type", "general.name"])
        XCTAssertEqual(try gguf.string("general.type"), "model")
        XCTAssertEqual(gguf.value("llama.block_count"), .uint32(2))
        XCTAssertEqual(gguf.value("llama.embedding_length"), .uint32(32))
        XCTAssertEqual(gguf.value("llama.feed_forward_length"), .uint32(64))
        XCTAssertEqual(gguf.value("llama.attention.head_count"), .uint32(4))
        XCTAssertEqual(gguf.value("llama.attention.head_count_kv"), .uint32(2))
        XCTAssertEqual(gguf.value("llama.context_length"), .uint32(128))
        XCTAssertEqual(gguf.value("llama.rope.freq_base"), .float32(10000))
        XCTAssertEqual(gguf.value("llama.attention.layer_norm_rms_epsilon"), .float32(1e-6))
        XCTAssertEqual(gguf.value("llama.attention.key_length"), .uint32(8))
        XCTAssertEqual(gguf.value("llama.vocab_size"), .uint32(96))
        XCTAssertEqual(gguf.value("llama.rope.dimension_count"), .uint32(8))
        XCTAssertEqual(gguf.value("general.quantization_version"), .uint32(2))
        XCTAssertEqual(try gguf.string("tokenizer.ggml.model"), "gpt2")
        XCTAssertEqual(try gguf.string("tokenizer.ggml.pre"), "gpt-2")
        XCTAssertEqual(try gguf.stringArray("tokenizer.ggml.tokens").count, 96)
        XCTAssertEqual(Array(try gguf.intArray("tokenizer.ggml.token_type").prefix(4)), [3, 3, 3, 1])
        XCTAssertEqual(gguf.value("tokenizer.ggml.bos_token_id"), .uint32(1))
        XCTAssertEqual(gguf.value("tokenizer.ggml.eos_token_id"), .uint32(2))
        XCTAssertEqual(gguf.value("tokenizer.ggml.padding_token_id"), .uint32(0))
        // The chat template writes </s> after a reply: that is the end of turn.
        XCTAssertEqual(gguf.value("tokenizer.ggml.eot_token_id"), .uint32(2))
        XCTAssertNil(gguf.value("tokenizer.ggml.add_bos_token"), "no post-processor and no add_bos_token: not written")
        XCTAssertNotNil(gguf.value("tokenizer.chat_template"))
        // Llama 3 RoPE scaling becomes rope_freqs.weight; the importer reads it back as the same scaling.
        let (rope, _) = try export(try modelFolder("llama3-rope"), .f32)
        XCTAssertEqual(try GGUFFile(url: rope).tensor("rope_freqs.weight")?.dims, [4])
    }

    /// q/k rows in llama.cpp's order: the importer's inverse gives Hugging Face's back; qwen2 is not permuted.
    func testPermutationInvertsTheImporters() throws {
        let values = (0..<(4 * 8 * 3)).map(Float.init)
        let permuted = GGUFWeights.permuteRows(values, heads: 4, rowLength: 3)
        XCTAssertNotEqual(permuted, values)
        // Head 0, D = 8: GGUF row 1 is HF row 4 (j = 1, i = 0).
        XCTAssertEqual(Array(permuted[3..<6]), [12, 13, 14])
    }

    /// An adapter is merged on the fly: the export's weights equal `tailor merge`'s folder.
    func testAdapterMergedAsTailorMergeDoes() throws {
        let folder = try modelFolder("llama")
        let adapter = TestPaths.fixture("generation/adapters/llama")
        let (file, summary) = try export(folder, .f32, adapter: adapter)
        XCTAssertGreaterThan(summary.adapted, 0)
        let merged = try temporaryFolder()
        let model = try CausalLM.load(folder: folder, backend: try CPUBackend())
        let adapters = try PeftAdapterFolder.load(folder: adapter, for: model)
        try adapters.writeMerged(model, baseFolder: folder, to: merged)
        let back = try temporaryFolder()
        _ = try GGUFImport.run(file: file, output: back)
        let expected = try SafetensorsCheckpoint(folder: merged), actual = try SafetensorsCheckpoint(folder: back)
        var differing = 0
        for (name, _) in model.namedParameters {
            XCTAssertEqual(try actual.floats(name), try expected.floats(name), name)
            if try expected.floats(name) != (try SafetensorsCheckpoint(folder: folder).floats(name)) { differing += 1 }
        }
        XCTAssertGreaterThan(differing, 0, "the adapter changed nothing")
    }

    func testBadInput() throws {
        // An architecture llama.cpp cannot read under a name Tailor writes.
        let folder = try modelFolder("llama")
        let config = folder.appendingPathComponent("config.json")
        let text = try String(contentsOf: config, encoding: .utf8)
        let gemma = try temporaryFolder()
        try FileManager.default.copyItem(at: folder, to: gemma.appendingPathComponent("m"))
        try text.replacingOccurrences(of: "LlamaForCausalLM", with: "GemmaForCausalLM")
            .write(to: gemma.appendingPathComponent("m/config.json"), atomically: true, encoding: .utf8)
        let out = try temporaryFolder()
        XCTAssertThrowsError(try GGUFExport.run(model: gemma.appendingPathComponent("m"), output: out.appendingPathComponent("x.gguf"),
                                                options: .init(preTokenizer: "gpt-2"))) { error in
            guard case .unsupportedArchitecture(name: "GemmaForCausalLM", _, _)? = error as? ExportError else { return XCTFail("\(error)") }
            XCTAssertTrue("\(error)".contains("config.json"))
        }
        // An output folder that does not exist.
        XCTAssertThrowsError(try GGUFExport.run(model: folder, output: out.appendingPathComponent("missing/x.gguf"),
                                                options: .init(preTokenizer: "gpt-2"))) { error in
            XCTAssertEqual(error as? ExportError, .outputFolderMissing(path: out.appendingPathComponent("missing/x.gguf").path))
        }
        // A pre-tokenizer the converter's table lacks, without --pre-tokenizer: refused, naming the option.
        XCTAssertThrowsError(try GGUFExport.run(model: folder, output: out.appendingPathComponent("x.gguf"), options: .init())) { error in
            XCTAssertTrue("\(error)".contains("--pre-tokenizer"), "\(error)")
        }
        // A BPE tokenizer without merges (llama.cpp cannot load one): refused, naming tokenizer.json's model.merges.
        let noMerges = try temporaryFolder().appendingPathComponent("n")
        try FileManager.default.copyItem(at: folder, to: noMerges)
        try FileManager.default.removeItem(at: noMerges.appendingPathComponent("tokenizer.json"))
        try FileManager.default.copyItem(at: TestPaths.fixture("generation/chat-llama/tokenizer.json"), to: noMerges.appendingPathComponent("tokenizer.json"))
        XCTAssertThrowsError(try GGUFExport.run(model: noMerges, output: out.appendingPathComponent("x.gguf"), options: .init(preTokenizer: "gpt-2"))) { error in
            XCTAssertTrue("\(error)".contains("model.merges"), "\(error)")
        }
        // A weight that cannot be read mid-write (its shard truncated after the header was checked) leaves no file,
        // and an earlier file under the name is kept.
        let target = out.appendingPathComponent("keep.gguf")
        _ = try GGUFExport.run(model: folder, output: target, options: .init(preTokenizer: "gpt-2"))
        let before = try Data(contentsOf: target)
        let broken = try temporaryFolder().appendingPathComponent("b")
        try FileManager.default.copyItem(at: folder, to: broken)
        let failing = try GGUFWriter.Tensor(name: "x", shape: [1], type: .f32) { _ in throw FormatError.cannotWrite(path: "disk", reason: "No space left on device") }
        XCTAssertThrowsError(try GGUFWriter.write(metadata: [("general.architecture", .string("llama"))], tensors: [failing], to: target))
        XCTAssertEqual(try Data(contentsOf: target), before)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: out.path), ["keep.gguf"])
    }

    /// A real full disk: the tiny llama's f32 export (about 100 kB of weights) into a 64 kB tmpfs fails with the
    /// output path and the system's reason, and leaves nothing on that disk (the temporary file is deleted too).
    /// Needs root (mount); skipped elsewhere.
    func testAFullDiskMidWriteIsAClearErrorAndLeavesNoFile() throws {
        let folder = try modelFolder("llama")
        let disk = try temporaryFolder().appendingPathComponent("small")
        guard SmallDisk.mount(at: disk, kilobytes: 64) else { throw XCTSkip("cannot mount a tmpfs here (not root?)") }
        defer { SmallDisk.unmount(disk) }
        let output = disk.appendingPathComponent("model.gguf")
        XCTAssertThrowsError(try GGUFExport.run(model: folder, output: output, options: .init(outType: .f32, preTokenizer: "gpt-2"))) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains(output.path) && text.contains("No space left on device"), text)
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: disk.path), [])
    }
}

/// The real SmolLM2-135M-Instruct (its GGUF imported into a Hugging Face folder): the pre-tokenizer hash picks
/// "smollm" as convert_hf_to_gguf.py does, the end of turn is <|im_end|>, and a GGUF source keeps its tokenizer.
final class GGUFExportSmolLM2Tests: XCTestCase {
    func testPreTokenizerHashAndEndOfTurn() throws {
        let file = try SmolLM2File.locate()
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("tailor-export-smol-\(UUID().uuidString)")
        addTeardownBlock { try? FileManager.default.removeItem(at: folder) }
        let summary = try GGUFImport.run(file: file, output: folder)
        let source = try GGUFVocabulary(metadata: try GGUFFile(url: file), file: file.path)
        let rebuilt = try GGUFVocabulary(huggingFace: folder, vocabularySize: summary.config.vocabSize)
        XCTAssertEqual(source.pre, "smollm")
        XCTAssertEqual(rebuilt.pre, "smollm", "chkhsh of Tailor's tokenizer picks the converter's name")
        XCTAssertEqual(rebuilt.tokens, source.tokens)
        XCTAssertEqual(rebuilt.tokenTypes, source.tokenTypes)
        XCTAssertEqual(rebuilt.merges, source.merges)
        XCTAssertEqual(rebuilt.bosTokenId, source.bosTokenId)
        XCTAssertEqual(rebuilt.eosTokenId, source.eosTokenId)
        XCTAssertEqual(rebuilt.chatTemplate, source.chatTemplate)
        XCTAssertEqual(rebuilt.tokens[try XCTUnwrap(rebuilt.eotTokenId)], "<|im_end|>")

        // Exported from the .gguf: the file's own tokenizer metadata, unchanged.
        let out = folder.appendingPathComponent("smol-q8_0.gguf")
        _ = try GGUFExport.run(model: folder, source: file, output: out, options: .init(outType: .q8_0))
        let written = try GGUFFile(url: out)
        let original = try GGUFFile(url: file)
        for key in original.metadataKeys where key.hasPrefix("tokenizer.") {
            XCTAssertEqual(written.value(key), original.value(key), key)
        }
        XCTAssertEqual(written.tensor("blk.0.attn_q.weight")?.type, .q8_0)
        XCTAssertEqual(written.tensor("token_embd.weight")?.type, .q8_0)
    }
}

/// The end-of-turn token: the one a Llama 3 template writes after a reply, not generation_config's first eos.
final class GGUFEndOfTurnTests: XCTestCase {
    func testLlama3EndOfTurnIsEotIdNotEos() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("tailor-eot-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: folder) }
        let chat = TestPaths.fixture("generation/chat-llama")
        // The chat-llama tokenizer with ids 93..95 made the special tokens of Llama 3's chat format.
        var tokenizer = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: chat.appendingPathComponent("tokenizer.json"))) as? [String: Any])
        var model = try XCTUnwrap(tokenizer["model"] as? [String: Any])
        var vocab = try XCTUnwrap(model["vocab"] as? [String: Int])
        var added = try XCTUnwrap(tokenizer["added_tokens"] as? [[String: Any]])
        vocab = vocab.filter { $0.value != 92 }
        vocab["he"] = 92  // one merge ("h e"), which llama.cpp needs
        for (id, content) in [(93, "<|start_header_id|>"), (94, "<|end_header_id|>"), (95, "<|eot_id|>")] {
            vocab = vocab.filter { $0.value != id }
            vocab[content] = id
            added.append(["id": id, "content": content, "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true])
        }
        model["vocab"] = vocab
        model["merges"] = ["h e"]
        tokenizer["model"] = model
        tokenizer["added_tokens"] = added
        try JSONSerialization.data(withJSONObject: tokenizer).write(to: folder.appendingPathComponent("tokenizer.json"))
        let template = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: TestPaths.fixture("templates/builtin-llama3.json"))) as? [String: Any])["source"]
        try JSONSerialization.data(withJSONObject: ["bos_token": "<s>", "eos_token": "</s>", "chat_template": try XCTUnwrap(template)])
            .write(to: folder.appendingPathComponent("tokenizer_config.json"))
        try #"{"bos_token_id": 1, "eos_token_id": [2, 95]}"#.write(to: folder.appendingPathComponent("generation_config.json"), atomically: true, encoding: .utf8)
        let vocabulary = try GGUFVocabulary(huggingFace: folder, vocabularySize: 96, preTokenizer: "llama-bpe")
        XCTAssertEqual(vocabulary.eosTokenId, 2)
        XCTAssertEqual(vocabulary.eotTokenId, 95)
        XCTAssertEqual(vocabulary.tokenTypes[95], GGUFVocabulary.TokenType.control.rawValue)
        XCTAssertEqual(vocabulary.pre, "llama-bpe")
        let metadata = GGUFExport.tokenizerMetadata(vocabulary)
        XCTAssertEqual(metadata.first { $0.key == "tokenizer.ggml.eot_token_id" }?.value, .uint32(95))
    }

    func testSHA256OfTheCheckIdsFormat() throws {
        // The converter hashes str(list): "[1, 2, 3]"; known SHA-256 vectors first.
        XCTAssertEqual(SHA256.hex(Array("".utf8)), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        XCTAssertEqual(SHA256.hex(Array("abc".utf8)), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(SHA256.hex(Array(String(repeating: "a", count: 1000).utf8)),
                       "41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3")
    }
}

/// The per-tensor types of the k-quant presets, as llama-quant.cpp chooses them.
final class GGUFPresetMixTests: XCTestCase {
    func type(_ name: String, row: Int = 2048, _ preset: GGUFOutType, layer: Int = 0, of layers: Int = 24, tied: Bool = false,
              groups: Int = 1) -> GGMLType {
        GGUFExport.presetType(name: name, rowLength: row, preset: preset,
                              position: .init(layer: layer, layerCount: layers, tied: tied, queryGroups: groups))
    }

    func testQ4KM() {
        // use_more_bits over 24 layers: the first 3, the last 3, and 5, 8, ..., 20.
        let more = Set([0, 1, 2, 5, 8, 11, 14, 17, 20, 21, 22, 23])
        for layer in 0..<24 {
            XCTAssertEqual(type("blk.\(layer).attn_v.weight", .q4_k_m, layer: layer), more.contains(layer) ? .q6_K : .q4_K, "\(layer)")
            XCTAssertEqual(type("blk.\(layer).ffn_down.weight", .q4_k_m, layer: layer), more.contains(layer) ? .q6_K : .q4_K, "\(layer)")
            XCTAssertEqual(type("blk.\(layer).attn_q.weight", .q4_k_m, layer: layer), .q4_K)
            XCTAssertEqual(type("blk.\(layer).ffn_gate.weight", .q4_k_m, layer: layer), .q4_K)
        }
        XCTAssertEqual(type("output.weight", .q4_k_m), .q6_K)
        XCTAssertEqual(type("token_embd.weight", .q4_k_m), .q4_K)
        XCTAssertEqual(type("token_embd.weight", .q4_k_m, tied: true), .q6_K)
        // SmolLM2's 576-wide rows: Q4_K falls back to Q5_0, Q6_K to Q8_0; the tied embeddings are the output: Q8_0.
        XCTAssertEqual(type("token_embd.weight", row: 576, .q4_k_m, tied: true), .q8_0)
        XCTAssertEqual(type("blk.3.attn_q.weight", row: 576, .q4_k_m, layer: 3), .q5_0)
        XCTAssertEqual(type("blk.0.attn_v.weight", row: 576, .q4_k_m), .q8_0)
        XCTAssertEqual(type("blk.0.ffn_down.weight", row: 1536, .q4_k_m), .q6_K)
        XCTAssertEqual(type("blk.3.ffn_down.weight", row: 1536, .q4_k_m, layer: 3), .q4_K)
        XCTAssertEqual(type("blk.3.attn_q.weight", row: 100, .q4_k_m, layer: 3), .f16)
    }

    /// The types llama-quantize gave each tensor of the tiny 1-layer model (formats/gguf/kquant.json).
    func testTypesEqualLlamaQuantizeOnTheTinyModel() throws {
        struct Meta: Decodable { var types: [String: [String: String]] }
        let meta = try JSONDecoder().decode(Meta.self, from: Data(contentsOf: TestPaths.fixture("formats/gguf/kquant.json")))
        XCTAssertEqual(Set(meta.types.keys), ["q4_k_s", "q4_k_m", "q5_k_s", "q5_k_m", "q6_k", "q2_k", "q3_k_s", "q3_k_m", "q3_k_l"])
        for (preset, types) in meta.types {
            let outType = try XCTUnwrap(GGUFOutType(rawValue: preset))
            for (tensor, type) in types {
                let shape = tensor.hasSuffix("_norm.weight") ? [256] : [32, 256]
                let ours = GGUFExport.tensorType(name: tensor, shape: shape, outType: outType,
                                                 position: .init(layer: 0, layerCount: 1, tied: false, queryGroups: 4))
                XCTAssertEqual(ours.name, type, "\(preset) \(tensor)")
            }
        }
    }

    /// Every tensor of SmolLM2-135M and Qwen2.5-1.5B (Tailor's presets: 576- and 1536-wide rows, 30 and 28 layers,
    /// 3 and 6 query heads per kv head, tied) for every preset, against the types llama.cpp's quantizer gave the
    /// same shapes (formats/gguf/preset-mix.json, scripts/reference/make_gguf_preset_mix_fixtures.py).
    func testTypesEqualLlamaQuantizeOnRealShapes() throws {
        struct Model: Decodable { var shapes: [String: [Int]]; var types: [String: [String: String]] }
        let models = try JSONDecoder().decode([String: Model].self, from: Data(contentsOf: TestPaths.fixture("formats/gguf/preset-mix.json")))
        XCTAssertEqual(Set(models.keys), ["smollm2-135m", "qwen2.5-1.5b"])
        for (name, model) in models.sorted(by: { $0.key < $1.key }) {
            let config = try ModelPresets.config(named: name)
            XCTAssertEqual(Set(model.types.keys), Set(GGUFOutType.allCases.filter(\.isKQuantPreset).map(\.rawValue)))
            var compared = 0
            for (preset, types) in model.types {
                let outType = try XCTUnwrap(GGUFOutType(rawValue: preset))
                for (tensor, expected) in types {
                    let shape = try XCTUnwrap(model.shapes[tensor], tensor)
                    let ours = GGUFExport.tensorType(name: tensor, shape: shape, outType: outType,
                                                     position: GGUFExport.mixPosition(of: tensor, config: config, tied: true))
                    XCTAssertEqual(ours.name, expected, "\(name) \(preset) \(tensor)")
                    compared += 1
                }
            }
            XCTAssertEqual(compared, model.shapes.count * 9, name)
        }
    }

    /// q2_k and q3_k_*: llama-quant.cpp's rules for attn_v, ffn_down and attn_output, and Q4_0 for Q2_K / Q3_K on
    /// rows that are not multiples of 256 (the pinned llama.cpp; older ones used IQ4_NL).
    func testLowBitPresets() {
        XCTAssertEqual(type("blk.0.attn_q.weight", .q2_k), .q2_K)
        XCTAssertEqual(type("blk.0.attn_v.weight", .q2_k, groups: 3), .q3_K)
        XCTAssertEqual(type("blk.0.attn_v.weight", .q2_k, groups: 4), .q4_K)
        XCTAssertEqual(type("blk.7.ffn_down.weight", .q2_k, layer: 7), .q3_K)
        XCTAssertEqual(type("blk.7.attn_output.weight", .q2_k, layer: 7), .q3_K)
        XCTAssertEqual(type("output.weight", .q2_k), .q6_K)
        XCTAssertEqual(type("token_embd.weight", .q2_k), .q2_K)
        for preset in [GGUFOutType.q3_k_s, .q3_k_m, .q3_k_l] {
            XCTAssertEqual(type("blk.3.attn_q.weight", preset, layer: 3), .q3_K)
            XCTAssertEqual(type("blk.3.ffn_up.weight", row: 576, preset, layer: 3), .q4_0)
            XCTAssertEqual(type("token_embd.weight", row: 576, preset, tied: true), .q8_0)
        }
        XCTAssertEqual(type("blk.0.attn_v.weight", .q3_k_s), .q3_K)
        XCTAssertEqual(type("blk.0.ffn_down.weight", .q3_k_s), .q3_K)
        XCTAssertEqual(type("blk.0.attn_output.weight", .q3_k_s), .q3_K)
        XCTAssertEqual(type("blk.1.attn_v.weight", .q3_k_m, layer: 1), .q5_K)
        XCTAssertEqual(type("blk.2.attn_v.weight", .q3_k_m, layer: 2), .q4_K)
        // ffn_down: Q5_K in the first sixteenth of 32 layers (0 and 1), then Q4_K.
        XCTAssertEqual(type("blk.1.ffn_down.weight", .q3_k_m, layer: 1, of: 32), .q5_K)
        XCTAssertEqual(type("blk.2.ffn_down.weight", .q3_k_m, layer: 2, of: 32), .q4_K)
        XCTAssertEqual(type("blk.2.attn_output.weight", .q3_k_m, layer: 2), .q4_K)
        XCTAssertEqual(type("blk.9.attn_v.weight", .q3_k_l, layer: 9), .q5_K)
        XCTAssertEqual(type("blk.9.ffn_down.weight", .q3_k_l, layer: 9), .q5_K)
        XCTAssertEqual(type("blk.9.attn_output.weight", row: 576, .q3_k_l, layer: 9), .q5_1)
        XCTAssertEqual(type("blk.9.attn_q.weight", row: 100, .q2_k, layer: 9), .f16)
    }

    func testOtherPresets() {
        XCTAssertEqual(type("blk.3.attn_v.weight", .q4_k_s, layer: 3), .q5_K)
        XCTAssertEqual(type("blk.4.attn_v.weight", .q4_k_s, layer: 4), .q4_K)
        XCTAssertEqual(type("blk.2.ffn_down.weight", .q4_k_s, layer: 2), .q5_K)
        XCTAssertEqual(type("blk.3.ffn_down.weight", .q4_k_s, layer: 3), .q4_K)
        XCTAssertEqual(type("blk.5.ffn_down.weight", .q5_k_m, layer: 5), .q6_K)
        XCTAssertEqual(type("blk.6.ffn_down.weight", .q5_k_m, layer: 6), .q5_K)
        XCTAssertEqual(type("blk.6.attn_q.weight", row: 576, .q5_k_s, layer: 6), .q5_1)
        XCTAssertEqual(type("blk.0.attn_v.weight", .q6_k), .q6_K)
        XCTAssertEqual(type("output.weight", .q6_k), .q6_K)
        XCTAssertEqual(type("blk.0.attn_q.weight", row: 576, .q6_k), .q8_0)
        // 1-D tensors, norms and biases are never quantized.
        XCTAssertEqual(GGUFExport.tensorType(name: "blk.0.attn_norm.weight", shape: [2048], outType: .q4_k_m, position: .init()), .f32)
        XCTAssertEqual(GGUFExport.tensorType(name: "blk.0.attn_q.bias", shape: [2048], outType: .q4_k_m, position: .init()), .f32)
    }
}
