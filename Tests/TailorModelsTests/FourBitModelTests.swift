import Foundation
import TailorFormats
import TailorModels
import TailorTensor
import TailorTestSupport
import XCTest

/// 4-bit frozen linears against transformers + bitsandbytes 0.50.2 on the CPU
/// (scripts/reference/make_qlora_fixtures.py): a folder they saved loads with their logits, and the
/// f32 folder quantized while loading gives the same codes and logits.
final class FourBitModelTests: XCTestCase {
    static let reference = TestPaths.fixture("qlora/reference.safetensors")

    func batch() throws -> TokenBatch {
        let file = try SafetensorsFile(url: TestPaths.fixture("models/llama/reference.safetensors"))
        func ints(_ name: String) throws -> [Int32] { try file.floats(name).map { Int32($0) } }
        return try TokenBatch(inputIds: ints("input_ids"), labels: ints("labels"),
                              positions: ints("position_ids"), seqStart: ints("seq_start"))
    }

    func linears(_ model: CausalLM) -> [Linear] {
        model.layers.flatMap(\.linears)
    }

    func testSavedFolderLoadsWithTransformersLogits() throws {
        let expected = try SafetensorsFile(url: Self.reference)
        for (variant, dtype) in [("nf4-dq", DType.nf4), ("fp4", DType.fp4)] {
            for kernels in [CPUBackend.Kernels.fast, .reference] {
                let backend = try CPUBackend(kernels: kernels)
                let model = try CausalLM.load(folder: TestPaths.fixture("qlora/\(variant)"), backend: backend)
                XCTAssertEqual(Set(linears(model).map(\.weight.dtype)), [dtype], variant)
                let logits = try backend.download(model.logits(try batch()))
                assertClose(logits, try expected.floats("logits.\(variant)"), rtol: 1e-5, atol: 1e-5, "\(variant) \(kernels) logits")
            }
        }
    }

    func testQuantizingWhileLoadingMatchesTheSavedFolder() throws {
        let backend = try CPUBackend()
        let expected = try SafetensorsFile(url: Self.reference)
        for (variant, quantization) in [("nf4-dq", FourBitQuantization(format: .nf4, doubleQuant: true)),
                                        ("fp4", FourBitQuantization(format: .fp4, doubleQuant: false))] {
            let saved = try CausalLM.load(folder: TestPaths.fixture("qlora/\(variant)"), backend: backend)
            let quantized = try CausalLM.load(folder: TestPaths.fixture("models/llama"), backend: backend, quantization: quantization)
            for (a, b) in zip(linears(saved), linears(quantized)) {
                XCTAssertEqual(a.weight.dtype, b.weight.dtype, a.name)
                XCTAssertEqual(a.weight.byteCount, b.weight.byteCount, a.name)
                let (x, y) = (try backend.download(a.weight), try backend.download(b.weight))
                let differ = zip(x, y).enumerated().filter { $0.element.0.bitPattern != $0.element.1.bitPattern }
                XCTAssertTrue(differ.isEmpty, "\(variant) \(a.name): \(differ.count) values differ, first \(differ.prefix(3).map { "[\($0.offset)] \($0.element.0) vs \($0.element.1)" })")
            }
            let logits = try backend.download(quantized.logits(try batch()))
            assertClose(logits, try expected.floats("logits.\(variant)"), rtol: 1e-5, atol: 1e-5, "\(variant) quantized at load")
            XCTAssertEqual(quantized.embedTokens.dtype, .f32, "embeddings stay in their file dtype")
        }
    }

    func testFourBitWeightsCountTheirRealBytes() throws {
        let backend = try CPUBackend()
        let model = try CausalLM.load(folder: TestPaths.fixture("models/llama"), backend: backend,
                                      quantization: FourBitQuantization(format: .nf4, doubleQuant: true))
        let q = model.layers[0].qProj.weight                          // [32, 32]: 1024 values, 16 blocks of 64
        XCTAssertEqual(q.byteCount, 512 + 16 + 4 + 4 + 1024)          // codes, 8-bit absmax, nested absmax, offset, map
        let plain = try CausalLM.load(folder: TestPaths.fixture("models/llama"), backend: backend,
                                      quantization: FourBitQuantization(format: .nf4))
        XCTAssertEqual(plain.layers[0].qProj.weight.byteCount, 512 + 16 * 4)
        XCTAssertEqual(FourBitQuantization(doubleQuant: true).bitsPerWeight, 4.127, accuracy: 0.001)
        XCTAssertEqual(FourBitQuantization(doubleQuant: false).bitsPerWeight, 4.5)
    }

    struct Entry {
        var name: String, dtype: SafetensorsDType, shape: [Int], bytes: [UInt8]
    }

    /// Copies the saved nf4 folder with `edit` applied to its tensors.
    func editedFolder(_ edit: ([Entry]) -> [Entry]) throws -> URL {
        let source = TestPaths.fixture("qlora/nf4-dq")
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("fourbit-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: source.appendingPathComponent("config.json"), to: folder.appendingPathComponent("config.json"))
        let file = try SafetensorsFile(url: source.appendingPathComponent("model.safetensors"))
        let tensors = try file.tensorNames.map { name -> Entry in
            let info = try XCTUnwrap(file.info(name))
            return Entry(name: name, dtype: info.dtype, shape: info.shape, bytes: Array(try file.bytes(name)))
        }
        try SafetensorsWriter.write(edit(tensors).map { SafetensorsWriter.Tensor(name: $0.name, dtype: $0.dtype, shape: $0.shape, bytes: $0.bytes) },
                                    to: folder.appendingPathComponent("model.safetensors"))
        return folder
    }

    func assertLoadFails(_ folder: URL, mentioning parts: [String], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try CausalLM.load(folder: folder, backend: try CPUBackend()), file: file, line: line) { error in
            for part in parts { XCTAssertTrue("\(error)".contains(part), "\(error) should mention \(part)", file: file, line: line) }
        }
    }

    func testBadFourBitFoldersNameTheTensorAndWhatToDo() throws {
        let q = "model.layers.0.self_attn.q_proj.weight"
        assertLoadFails(try editedFolder { $0.filter { $0.name != q + ".absmax" } }, mentioning: [q + ".absmax", "is missing", "save it again"])
        assertLoadFails(try editedFolder { $0.filter { $0.name != q + ".nested_absmax" } }, mentioning: [q + ".nested_absmax", "is missing"])
        // Without its quant state the packed codes look like a uint8 weight of the wrong shape.
        assertLoadFails(try editedFolder { $0.filter { $0.name != q + ".quant_state.bitsandbytes__nf4" } }, mentioning: [q])
        // A quant state whose shape does not fit the blocks and codes stored.
        assertLoadFails(try editedFolder { tensors in
            tensors.map { t in
                guard t.name == q + ".quant_state.bitsandbytes__nf4" else { return t }
                let text = String(decoding: t.bytes, as: UTF8.self).replacingOccurrences(of: "\"blocksize\": 64", with: "\"blocksize\": 48")
                return Entry(name: t.name, dtype: t.dtype, shape: [text.utf8.count], bytes: Array(text.utf8))
            }
        }, mentioning: [q + ".quant_state.bitsandbytes__nf4", "blocksize 48", "32, 64, 128"])
        assertLoadFails(try editedFolder { tensors in
            tensors.map { t in
                guard t.name == q + ".absmax" else { return t }
                return Entry(name: t.name, dtype: t.dtype, shape: [t.bytes.count - 1], bytes: Array(t.bytes.dropLast()))
            }
        }, mentioning: [q + ".absmax", "has 15 entries", "need 16"])
    }

    func testBadQuantizationSettingsAreRefused() throws {
        let folder = TestPaths.fixture("models/llama")
        XCTAssertThrowsError(try CausalLM.load(folder: folder, backend: try CPUBackend(),
                                               quantization: FourBitQuantization(blocksize: 100))) { error in
            XCTAssertTrue("\(error)".contains("blocksize 100") && "\(error)".contains("32, 64"), "\(error)")
        }
        XCTAssertThrowsError(try CausalLM.load(folder: folder, backend: try CPUBackend(),
                                               quantization: FourBitQuantization(computeDType: .f16))) { error in
            XCTAssertTrue("\(error)".contains("bnb_4bit_compute_dtype") && "\(error)".contains("float16"), "\(error)")
        }
    }
}
