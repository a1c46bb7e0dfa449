#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Writes GGUF files (version 3, little-endian) laid out as the gguf Python package's `GGUFWriter` lays
/// them out, so that the same metadata and tensors give the same bytes:
///
///     magic "GGUF", uint32 3, uint64 tensor count, uint64 metadata count,
///     metadata (key, uint32 type, value) in the order given,
///     tensor infos (name, uint32 n_dims, uint64 dims innermost first, uint32 ggml type, uint64 offset),
///     zero padding to the alignment, then each tensor's data followed by zero padding to the alignment.
///
/// The alignment is metadata `general.alignment` when given (a uint32 power of two), else 32. Tensors are
/// streamed: each `Tensor`'s producer is called once, in order, while the file is written, so only one
/// tensor's bytes need to exist at a time. The file is written atomically (temporary file in the same
/// folder, fsync, rename): a failed write leaves no file under `url`, and an existing one unchanged.
public enum GGUFWriter {
    /// One tensor to write: its info and a producer of its bytes.
    public struct Tensor: Sendable {
        public let name: String
        /// Row-major shape, outermost first (numpy's order; the file stores it reversed, as ggml `ne`).
        public let shape: [Int]
        public let type: GGMLType
        /// Bytes of data (`type.byteCount(elements:)` of the shape's element count).
        public let byteCount: Int
        /// Calls its argument one or more times with consecutive pieces of the tensor's bytes, exactly
        /// `byteCount` of them in all.
        let producer: @Sendable ((UnsafeRawBufferPointer) throws -> Void) throws -> Void

        /// A tensor whose bytes are produced on demand (`producer` calls its argument with consecutive pieces).
        /// - Throws: `FormatError.invalidWriterInput` when the type is unknown, or the shape is empty, has a
        ///   negative dimension, more than 4 dimensions, or a row length that is not a whole number of blocks.
        public init(name: String, shape: [Int], type: GGMLType,
                    producer: @escaping @Sendable ((UnsafeRawBufferPointer) throws -> Void) throws -> Void) throws {
            guard !shape.isEmpty, shape.count <= 4, shape.allSatisfy({ $0 >= 0 }) else {
                throw FormatError.invalidWriterInput(path: name, detail: "tensor \"\(name)\" has shape \(shape) (1 to 4 non-negative dimensions)")
            }
            var elements = 1
            for dim in shape {
                let (product, overflow) = elements.multipliedReportingOverflow(by: dim)
                guard !overflow else { throw FormatError.invalidWriterInput(path: name, detail: "tensor \"\(name)\" shape \(shape) overflows") }
                elements = product
            }
            guard let blockSize = type.blockSize, shape[shape.count - 1] % blockSize == 0,
                  let byteCount = type.byteCount(elements: elements) else {
                throw FormatError.invalidWriterInput(
                    path: name, detail: "tensor \"\(name)\" of shape \(shape) cannot be stored as \(type.name) (row length "
                        + "\(shape[shape.count - 1]) must be a multiple of its block size \(type.blockSize.map(String.init) ?? "?"))")
            }
            self.name = name
            self.shape = shape
            self.type = type
            self.byteCount = byteCount
            self.producer = producer
        }

        /// A tensor whose bytes are given.
        public init(name: String, shape: [Int], type: GGMLType, bytes: [UInt8]) throws {
            try self.init(name: name, shape: shape, type: type) { body in try bytes.withUnsafeBytes { try body($0) } }
            guard byteCount == bytes.count else {
                throw FormatError.byteCountMismatch(path: "<GGUF writer>", tensor: name, expected: byteCount, actual: bytes.count)
            }
        }
    }

    /// Writes `metadata` (in the order given) and `tensors` (in the order given) to `url`, atomically.
    /// - Parameter progress: called after each tensor with (tensors written, tensor count, bytes written so far).
    /// - Throws: `FormatError.invalidWriterInput` for a duplicate key or tensor name, an empty array, an array
    ///   whose elements differ in type, or a bad `general.alignment`; `.byteCountMismatch` when a producer
    ///   gives more or fewer bytes than its tensor has; `.cannotWrite` for I/O errors (a missing folder, a
    ///   full disk); any error a producer throws. In every case no file is left under `url`.
    public static func write(metadata: [(key: String, value: GGUFValue)], tensors: [Tensor], to url: URL,
                             progress: (_ done: Int, _ total: Int, _ bytes: Int) -> Void = { _, _, _ in }) throws {
        let path = url.path
        let alignment = try self.alignment(of: metadata, path: path)
        var header = try headerBytes(metadata: metadata, tensors: tensors, alignment: alignment, path: path)
        header.append(contentsOf: [UInt8](repeating: 0, count: padding(header.count, alignment)))
        let file = try AtomicFile(url: url)
        var out = BufferedOutput(file: file)
        try out.append(header)
        var written = 0
        for (index, tensor) in tensors.enumerated() {
            var produced = 0
            try tensor.producer { piece in
                produced += piece.count
                guard produced <= tensor.byteCount else { return }
                try out.append(piece)
            }
            guard produced == tensor.byteCount else {
                throw FormatError.byteCountMismatch(path: path, tensor: tensor.name, expected: tensor.byteCount, actual: produced)
            }
            try out.append([UInt8](repeating: 0, count: padding(tensor.byteCount, alignment)))
            written += tensor.byteCount
            progress(index + 1, tensors.count, written)
        }
        try out.flush()
        try file.commit()
    }

    /// The data alignment `metadata` asks for.
    static func alignment(of metadata: [(key: String, value: GGUFValue)], path: String) throws -> Int {
        guard let value = metadata.first(where: { $0.key == "general.alignment" })?.value else { return GGUFFile.defaultAlignment }
        guard case let .uint32(a) = value, a > 0, a & (a - 1) == 0, a <= 1 << 30 else {
            throw FormatError.invalidWriterInput(path: path, detail: "general.alignment \(value) must be a uint32 power of two")
        }
        return Int(a)  // allowed: a uint32 at most 2^30 widens
    }

    static func padding(_ count: Int, _ alignment: Int) -> Int { (alignment - count % alignment) % alignment }

    /// The header: everything before the first padding.
    static func headerBytes(metadata: [(key: String, value: GGUFValue)], tensors: [Tensor], alignment: Int,
                            path: String) throws -> [UInt8] {
        var bytes = Array("GGUF".utf8)
        append(UInt32(3), to: &bytes)
        append(UInt64(tensors.count), to: &bytes)  // allowed: a count widens to UInt64
        append(UInt64(metadata.count), to: &bytes)  // allowed: a count widens to UInt64
        var keys = Set<String>()
        for (key, value) in metadata {
            guard keys.insert(key).inserted else {
                throw FormatError.invalidWriterInput(path: path, detail: "metadata key \"\(key)\" given twice")
            }
            appendString(key, to: &bytes)
            append(value.type.rawValue, to: &bytes)
            try appendValue(value, to: &bytes, key: key, path: path)
        }
        var names = Set<String>()
        var offset = 0
        for tensor in tensors {
            guard names.insert(tensor.name).inserted else {
                throw FormatError.invalidWriterInput(path: path, detail: "tensor \"\(tensor.name)\" given twice")
            }
            appendString(tensor.name, to: &bytes)
            append(UInt32(tensor.shape.count), to: &bytes)  // allowed: at most 4 dimensions
            for dim in tensor.shape.reversed() { append(UInt64(dim), to: &bytes) }  // allowed: a non-negative dimension widens
            append(tensor.type.rawValue, to: &bytes)
            append(UInt64(offset), to: &bytes)  // allowed: a non-negative offset widens
            offset += tensor.byteCount + padding(tensor.byteCount, alignment)
        }
        return bytes
    }

    static func append<T: FixedWidthInteger>(_ value: T, to bytes: inout [UInt8]) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    static func appendString(_ string: String, to bytes: inout [UInt8]) {
        let utf8 = Array(string.utf8)
        append(UInt64(utf8.count), to: &bytes)  // allowed: a count widens to UInt64
        bytes.append(contentsOf: utf8)
    }

    /// A value without its type code (arrays carry their element type and count).
    static func appendValue(_ value: GGUFValue, to bytes: inout [UInt8], key: String, path: String) throws {
        switch value {
        case let .uint8(v): append(v, to: &bytes)
        case let .int8(v): append(v, to: &bytes)
        case let .uint16(v): append(v, to: &bytes)
        case let .int16(v): append(v, to: &bytes)
        case let .uint32(v): append(v, to: &bytes)
        case let .int32(v): append(v, to: &bytes)
        case let .uint64(v): append(v, to: &bytes)
        case let .int64(v): append(v, to: &bytes)
        case let .float32(v): append(v.bitPattern, to: &bytes)
        case let .float64(v): append(v.bitPattern, to: &bytes)
        case let .bool(v): bytes.append(v ? 1 : 0)
        case let .string(s): appendString(s, to: &bytes)
        case let .array(elementType, elements):
            // llama.cpp and gguf-py reject empty arrays; so does this writer.
            guard !elements.isEmpty else {
                throw FormatError.invalidWriterInput(path: path, detail: "metadata \"\(key)\" is an empty array, which GGUF readers reject")
            }
            guard elements.allSatisfy({ $0.type == elementType }) else {
                throw FormatError.invalidWriterInput(path: path, detail: "metadata \"\(key)\" mixes element types in an array of \(elementType)")
            }
            append(elementType.rawValue, to: &bytes)
            append(UInt64(elements.count), to: &bytes)  // allowed: a count widens to UInt64
            for element in elements { try appendValue(element, to: &bytes, key: key, path: path) }
        }
    }
}

/// Collects small writes into 4 MiB chunks before they reach the file.
private struct BufferedOutput {
    let file: AtomicFile
    var buffer: [UInt8] = []
    static let capacity = 4 << 20

    init(file: AtomicFile) {
        self.file = file
        buffer.reserveCapacity(Self.capacity)
    }

    mutating func append(_ bytes: UnsafeRawBufferPointer) throws {
        if buffer.count + bytes.count > Self.capacity { try flush() }
        if bytes.count >= Self.capacity {
            try file.write(bytes)
        } else {
            buffer.append(contentsOf: bytes)
        }
    }

    mutating func append(_ bytes: [UInt8]) throws { try bytes.withUnsafeBytes { try append($0) } }

    mutating func flush() throws {
        guard !buffer.isEmpty else { return }
        try file.write(buffer)
        buffer.removeAll(keepingCapacity: true)
    }
}
