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
        // Cut inside the metadata.
        try Data(bytes.prefix(200)).write(to: url)
        let header = message { _ = try CausalLM.load(gguf: url, backend: try CPUBackend(kernels: .reference)) }
        XCTAssertTrue(header.contains("metadata") || header.contains("truncated") || header.contains("ends"), header)
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
