import Foundation
import TailorFormats
import TailorModels
import TailorTensor
import TailorTestSupport
import XCTest

/// Bad GGUF files: each error names the field or tensor at fault.
final class GGUFModelErrorTests: XCTestCase {
    func message(_ body: () throws -> Void) -> String {
        do { try body() } catch { return "\(error)" }
        XCTFail("expected an error")
        return ""
    }

    func load(_ file: GGUFTestFile) throws {
        _ = try CausalLM.load(gguf: try file.write(), backend: try CPUBackend(kernels: .reference))
    }

    func testTruncatedFile() throws {
        let bytes = try GGUFModelTests.gguf("llama").file.bytes()
        let url = try GGUFTestFile().write()
        try Data(bytes.prefix(bytes.count - 100)).write(to: url)
        let text = message { _ = try CausalLM.load(gguf: url, backend: try CPUBackend(kernels: .reference)) }
        XCTAssertTrue(text.contains("data of tensor"), text)
        // Cut before the metadata and tensor infos the header counts could fit: refused from the counts.
        try Data(bytes.prefix(200)).write(to: url)
        guard case let .invalidGGUF(_, detail)? = formatError({ _ = try CausalLM.load(gguf: url, backend: try CPUBackend(kernels: .reference)) })
        else { return XCTFail("expected invalidGGUF for a 200-byte cut") }
        XCTAssertTrue(detail.contains("18 metadata entries and 21 tensors, more than a file of 200 bytes can hold"), detail)
        // Cut inside the metadata (in the strings of tokenizer.ggml.tokens).
        try Data(bytes.prefix(1500)).write(to: url)
        guard case let .truncated(_, what, offset, needed, size)? = formatError({
            _ = try CausalLM.load(gguf: url, backend: try CPUBackend(kernels: .reference))
        }) else { return XCTFail("expected truncated for a 1500-byte cut") }
        XCTAssertEqual(what, #"the value of metadata "tokenizer.ggml.tokens""#)
        XCTAssertEqual([offset, needed, size], [1497, 8, 1500])
    }

    /// The FormatError `body` throws; fails when it throws something else or nothing.
    func formatError(_ body: () throws -> Void) -> FormatError? {
        do { try body() } catch let error as FormatError { return error } catch { XCTFail("not a FormatError: \(error)"); return nil }
        XCTFail("expected an error")
        return nil
    }

    func testUnknownArchitecture() throws {
        var file = try GGUFModelTests.gguf("llama").file
        file.set("general.architecture", .string("mamba"))
        let text = message { try load(file) }
        XCTAssertTrue(text.contains("general.architecture") && text.contains("mamba") && text.contains("llama, qwen2, qwen3"), text)
    }

    func testMissingMetadataKey() throws {
        var file = try GGUFModelTests.gguf("llama").file
        file.metadata.removeAll { $0.0 == "llama.block_count" }
        let text = message { try load(file) }
        XCTAssertTrue(text.contains("llama.block_count"), text)
    }

    func testUnknownQuantizationType() throws {
        var file = try GGUFModelTests.gguf("llama").file
        let index = file.tensors.firstIndex { $0.name == "blk.1.ffn_up.weight" }!
        file.tensors[index].rawType = 99
        let text = message { try load(file) }
        XCTAssertTrue(text.contains("blk.1.ffn_up.weight"), text)
    }

    func testMissingTensor() throws {
        var file = try GGUFModelTests.gguf("llama").file
        file.tensors.removeAll { $0.name == "blk.1.attn_k.weight" }
        let text = message { try load(file) }
        XCTAssertTrue(text.contains("blk.1.attn_k.weight"), text)
    }
}
