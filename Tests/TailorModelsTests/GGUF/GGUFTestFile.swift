import Foundation
import TailorTestSupport
import XCTest

/// Builds small GGUF v3 files in tests: metadata of a few types and F32 tensors (given row-major for their
/// PyTorch shape), 32-byte aligned. `rawType` lets a test write a tensor type id ggml does not know.
struct GGUFTestFile {
    enum Value {
        case u32(UInt32), i32(Int32), f32(Float), bool(Bool), string(String), strings([String]), i32s([Int32]), f32s([Float])
    }

    var metadata: [(String, Value)] = []
    var tensors: [(name: String, shape: [Int], values: [Float], rawType: UInt32)] = []
    /// The data of tensors written as given bytes (ggml blocks) instead of their F32 `values`.
    var data: [String: [UInt8]] = [:]

    mutating func set(_ key: String, _ value: Value) {
        metadata.removeAll { $0.0 == key }
        metadata.append((key, value))
    }

    mutating func add(_ name: String, shape: [Int], _ values: [Float], rawType: UInt32 = 0) {
        tensors.append((name, shape, values, rawType))
    }

    /// Replaces tensor `name`'s data by `bytes` of ggml type `rawType` (blocks made by GGMLQuantizer).
    mutating func store(_ name: String, bytes: [UInt8], rawType: UInt32) {
        guard let index = tensors.firstIndex(where: { $0.name == name }) else { return }
        tensors[index].rawType = rawType
        data[name] = bytes
    }

    func bytes() -> [UInt8] {
        var out: [UInt8] = []
        func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { out += $0 } }
        func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { out += $0 } }
        func string(_ s: String) { u64(UInt64(s.utf8.count)); out += Array(s.utf8) }
        out += Array("GGUF".utf8)
        u32(3)
        u64(UInt64(tensors.count))
        u64(UInt64(metadata.count))
        for (key, value) in metadata {
            string(key)
            switch value {
            case let .u32(v): u32(4); u32(v)
            case let .i32(v): u32(5); u32(UInt32(bitPattern: v))
            case let .f32(v): u32(6); u32(v.bitPattern)
            case let .bool(v): u32(7); out.append(v ? 1 : 0)
            case let .string(s): u32(8); string(s)
            case let .strings(items): u32(9); u32(8); u64(UInt64(items.count)); items.forEach(string)
            case let .i32s(items): u32(9); u32(5); u64(UInt64(items.count)); items.forEach { u32(UInt32(bitPattern: $0)) }
            case let .f32s(items): u32(9); u32(6); u64(UInt64(items.count)); items.forEach { u32($0.bitPattern) }
            }
        }
        var offset = 0
        for t in tensors {
            string(t.name)
            u32(UInt32(t.shape.count))
            for d in t.shape.reversed() { u64(UInt64(d)) }
            u32(t.rawType)
            u64(UInt64(offset))
            offset += ((data[t.name]?.count ?? t.values.count * 4) + 31) / 32 * 32
        }
        while out.count % 32 != 0 { out.append(0) }
        for t in tensors {
            if let bytes = data[t.name] { out += bytes } else { for v in t.values { u32(v.bitPattern) } }
            while out.count % 32 != 0 { out.append(0) }
        }
        return out
    }

    /// Writes the file into a fresh temporary folder and returns its URL.
    func write(name: String = "model.gguf") throws -> URL {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("tailor-gguf-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let url = folder.appendingPathComponent(name)
        try Data(bytes()).write(to: url)
        return url
    }
}

/// llama.cpp's converter's `permute(w, n_head)`: rows [heads, 2, D/2] -> [heads, D/2, 2] (the inverse of what
/// Tailor undoes), written independently here so the tests check the round trip.
func llamaCppPermute(_ values: [Float], heads: Int, rows: Int) -> [Float] {
    let rowLength = values.count / rows
    let headRows = rows / heads
    var out = values
    for h in 0..<heads {
        for r in 0..<headRows {
            // Source row (HF): h, j = r / (D/2), i = r % (D/2); destination row: h, i, j.
            let j = r / (headRows / 2), i = r % (headRows / 2)
            let destination = h * headRows + i * 2 + j
            for k in 0..<rowLength { out[destination * rowLength + k] = values[(h * headRows + r) * rowLength + k] }
        }
    }
    return out
}

