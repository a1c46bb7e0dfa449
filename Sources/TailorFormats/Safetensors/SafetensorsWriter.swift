#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import TailorJSON
import TailorTensor

/// Writes safetensors files and sharded Hugging Face checkpoints.
///
/// Files are laid out exactly as `safetensors.torch.save_file` lays them out — tensors sorted by dtype
/// (the reference `Dtype` order, descending: U64, I64, F64, C64, F32, ... BOOL), then by name; compact JSON
/// header padded with spaces to a multiple of 8 bytes — so a file Tailor writes is byte-identical to the
/// Python one whenever `__metadata__` has at most one key. (With more keys the Python writer emits them in
/// hash-map order; Tailor sorts them. Both load the same.)
///
/// Every file is written atomically: to a temporary file in the same folder, fsync'ed, then renamed.
public enum SafetensorsWriter {
    /// One tensor to write: its header entry and a way to get its bytes.
    public struct Tensor: Sendable {
        public let name: String
        public let dtype: SafetensorsDType
        /// Row-major shape, outermost first.
        public let shape: [Int]
        /// Length of the data in bytes.
        public let byteCount: Int
        /// Calls its argument with the tensor's little-endian bytes (exactly `byteCount` of them).
        let provider: @Sendable ((UnsafeRawBufferPointer) throws -> Void) throws -> Void

        /// A tensor whose bytes are given in an array.
        public init(name: String, dtype: SafetensorsDType, shape: [Int], bytes: [UInt8]) {
            self.name = name
            self.dtype = dtype
            self.shape = shape
            self.byteCount = bytes.count
            self.provider = { body in try bytes.withUnsafeBytes { try body($0) } }
        }

        /// A tensor whose bytes are supplied on demand, without a copy: `provider` must call its argument
        /// once with a buffer of `byteCount` bytes (for example a view of a tensor's storage).
        public init(
            name: String, dtype: SafetensorsDType, shape: [Int], byteCount: Int,
            provider: @escaping @Sendable ((UnsafeRawBufferPointer) throws -> Void) throws -> Void
        ) {
            self.name = name
            self.dtype = dtype
            self.shape = shape
            self.byteCount = byteCount
            self.provider = provider
        }

        /// A float tensor stored as F32, or narrowed (round to nearest even) to F16 or BF16.
        /// Any other `dtype` stores F32.
        public init(name: String, shape: [Int], floats: [Float], dtype: SafetensorsDType = .f32) {
            var bytes: [UInt8] = []
            switch dtype {
            case .f16, .bf16:
                bytes.reserveCapacity(floats.count * 2)
                for value in floats {
                    let bits = dtype == .f16 ? HalfPrecision.floatToF16(value) : HalfPrecision.floatToBF16(value)
                    bytes.append(UInt8(truncatingIfNeeded: bits))
                    bytes.append(UInt8(truncatingIfNeeded: bits >> 8))
                }
                self.init(name: name, dtype: dtype, shape: shape, bytes: bytes)
            default:
                bytes = floats.withUnsafeBytes { Array($0) }
                self.init(name: name, dtype: .f32, shape: shape, bytes: bytes)
            }
        }
    }

    /// Writes `tensors` to one file at `url` (replacing it atomically).
    /// - Parameter metadata: the `__metadata__` map; nil writes none (Hugging Face files carry `["format": "pt"]`).
    /// - Throws: `FormatError.invalidWriterInput` for duplicate names, bad shapes or byte counts that do not
    ///   match the shape; `.cannotWrite` for I/O errors.
    public static func write(_ tensors: [Tensor], metadata: [String: String]? = nil, to url: URL) throws {
        let ordered = try validated(tensors, path: url.path)
        let header = headerBytes(ordered, metadata: metadata)
        let file = try AtomicFile(url: url)
        var length = UInt64(header.count).littleEndian  // allowed: a count widens to UInt64
        try withUnsafeBytes(of: &length) { try file.write($0) }
        try file.write(header)
        for tensor in ordered {
            var delivered = -1
            try tensor.provider { bytes in
                delivered = bytes.count
                if bytes.count == tensor.byteCount { try file.write(bytes) }
            }
            guard delivered == tensor.byteCount else {
                throw FormatError.invalidWriterInput(
                    path: url.path,
                    detail: "the provider of tensor \"\(tensor.name)\" gave \(delivered) bytes instead of \(tensor.byteCount)")
            }
        }
        try file.commit()
    }

    /// Checks names, shapes and byte counts, and returns the tensors in file order.
    static func validated(_ tensors: [Tensor], path: String) throws -> [Tensor] {
        var names = Set<String>()
        for tensor in tensors {
            guard tensor.name != "__metadata__" else {
                throw FormatError.invalidWriterInput(path: path, detail: "\"__metadata__\" is reserved, not a tensor name")
            }
            guard names.insert(tensor.name).inserted else {
                throw FormatError.invalidWriterInput(path: path, detail: "tensor \"\(tensor.name)\" is given twice")
            }
            var elements = 1
            for dim in tensor.shape {
                let (product, overflow) = elements.multipliedReportingOverflow(by: dim)
                guard dim >= 0, !overflow else {
                    throw FormatError.invalidWriterInput(path: path, detail: "tensor \"\(tensor.name)\" has shape \(tensor.shape)")
                }
                elements = product
            }
            guard let expected = tensor.dtype.byteCount(elements: elements), expected == tensor.byteCount else {
                throw FormatError.invalidWriterInput(
                    path: path, detail: "tensor \"\(tensor.name)\" has \(tensor.byteCount) bytes, but shape "
                        + "\(tensor.shape) of \(tensor.dtype) needs \(tensor.dtype.byteCount(elements: elements).map(String.init) ?? "a whole number of bytes")")
            }
        }
        return tensors.sorted { a, b in
            if a.dtype != b.dtype { return a.dtype.rank > b.dtype.rank }
            return a.name.utf8.lexicographicallyPrecedes(b.name.utf8)
        }
    }

    /// The JSON header for tensors already in file order, padded with spaces to a multiple of 8 bytes.
    static func headerBytes(_ ordered: [Tensor], metadata: [String: String]?) -> [UInt8] {
        var members: [(String, JSONValue)] = []
        if let metadata {
            let keys = metadata.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
            members.append(("__metadata__", .object(JSONObject(keys.map { ($0, .string(metadata[$0] ?? "")) }))))
        }
        var offset = 0
        for tensor in ordered {
            members.append((tensor.name, [
                "dtype": .string(tensor.dtype.rawValue), "shape": .array(tensor.shape.map { .int($0) }),
                "data_offsets": [.int(offset), .int(offset + tensor.byteCount)],
            ]))
            offset += tensor.byteCount
        }
        // serde_json's compact text, as the Rust writer's.
        var out = JSONValue.object(JSONObject(members)).bytes(.compact)
        while out.count % 8 != 0 { out.append(UInt8(ascii: " ")) }
        return out
    }
}
