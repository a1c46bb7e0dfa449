#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// One tensor's entry in a GGUF file.
public struct GGUFTensorInfo: Sendable, Equatable {
    public let name: String
    /// ggml dimensions, innermost (contiguous) first: `ne[0]` is the row length. A `[out, in]` PyTorch
    /// weight has `dims == [in, out]`.
    public let dims: [Int]
    public let type: GGMLType
    /// Offset of the data from the start of the data section (a multiple of the file's alignment).
    public let offset: Int
    /// Number of values (`product(dims)`).
    public let elementCount: Int
    /// Bytes of data.
    public let byteCount: Int

    /// Row-major shape, outermost first (`dims` reversed), as numpy shows it in the gguf Python package.
    public var shape: [Int] { dims.reversed() }
}

/// A GGUF file (versions 2 and 3, little-endian), memory-mapped read-only and validated when opened.
///
/// Layout: magic `GGUF`, uint32 version, uint64 tensor count, uint64 metadata count, the metadata
/// key/value pairs, the tensor infos, padding to `alignment` (metadata `general.alignment`, default 32),
/// then the data section. Opening parses all metadata and checks that every tensor's data lies inside
/// the file at an aligned offset; buffers from `bytes(_:)` point into the mapping and are valid only while
/// this object is alive.
public final class GGUFFile: Sendable {
    public static let defaultAlignment = 32

    public let url: URL
    /// 2 or 3.
    public let version: UInt32
    /// Data alignment in bytes.
    public let alignment: Int
    /// Byte offset of the data section in the file.
    public let dataStart: Int
    /// Metadata keys in file order.
    public let metadataKeys: [String]
    /// All metadata.
    public let metadata: [String: GGUFValue]
    /// Tensor infos in file order.
    public let tensors: [GGUFTensorInfo]

    private let tensorIndex: [String: Int]
    private let file: MappedFile

    /// Maps and parses the file.
    /// - Throws: `FormatError.notGGUF`, `.unsupportedGGUFVersion`, `.truncated`, `.invalidGGUF` (malformed
    ///   metadata or tensor infos, data out of bounds), `.unsupportedGGMLType` (a tensor type ggml does not know).
    public init(url: URL) throws {
        self.url = url
        let file = try MappedFile(url: url)
        self.file = file
        let path = url.path
        var reader = ByteReader(file.all, path: path)

        let magic = try reader.slice(4, "the GGUF magic")
        guard Array(magic) == Array("GGUF".utf8) else { throw FormatError.notGGUF(path: path, magic: Array(magic)) }
        let version = try reader.read(UInt32.self, "the GGUF version")
        guard version == 2 || version == 3 else { throw FormatError.unsupportedGGUFVersion(path: path, version: version) }
        self.version = version
        let tensorCount = try reader.read(UInt64.self, "the tensor count")
        let kvCount = try reader.read(UInt64.self, "the metadata count")
        // Each key/value needs at least 13 bytes, each tensor info at least 24: reject absurd counts early.
        guard kvCount <= UInt64(reader.remaining / 13), tensorCount <= UInt64(reader.remaining / 24) else {  // allowed: remaining is a non-negative Int; widens
            throw FormatError.invalidGGUF(
                path: path, detail: "the header claims \(kvCount) metadata entries and \(tensorCount) tensors, more "
                    + "than a file of \(file.size) bytes can hold")
        }

        var keys: [String] = []
        var metadata: [String: GGUFValue] = [:]
        for i in 0..<Int(kvCount) {  // allowed: kvCount <= remaining / 13 (an Int) checked before the loop
            let key = try reader.string("the key of metadata entry \(i)")
            let rawType = try reader.read(UInt32.self, "the type of metadata \"\(key)\"")
            guard let type = GGUFValueType(rawValue: rawType) else {
                throw FormatError.invalidGGUF(path: path, detail: "metadata \"\(key)\" has unknown value type \(rawType)")
            }
            let value = try GGUFFile.readValue(type, &reader, key: key, depth: 0)
            guard metadata.updateValue(value, forKey: key) == nil else {
                throw FormatError.invalidGGUF(path: path, detail: "metadata key \"\(key)\" appears twice")
            }
            keys.append(key)
        }
        metadataKeys = keys
        self.metadata = metadata

        var alignment = GGUFFile.defaultAlignment
        if let value = metadata["general.alignment"] {
            guard let a = value.intValue, a > 0, a & (a - 1) == 0, a <= 1 << 30 else {
                throw FormatError.invalidGGUF(path: path, detail: "general.alignment \(value) is not a power of two")
            }
            alignment = a
        }
        self.alignment = alignment

        var infos: [(name: String, dims: [Int], type: GGMLType, offset: UInt64)] = []
        for i in 0..<Int(tensorCount) {  // allowed: tensorCount <= remaining / 24 (an Int) checked before the loop
            let name = try reader.string("the name of tensor \(i)")
            let nDims = try reader.read(UInt32.self, "the dimension count of tensor \"\(name)\"")
            guard nDims <= 4 else {
                throw FormatError.invalidGGUF(path: path, detail: "tensor \"\(name)\" has \(nDims) dimensions (at most 4)")
            }
            var dims: [Int] = []
            for _ in 0..<nDims {
                let dim = try reader.read(UInt64.self, "the dimensions of tensor \"\(name)\"")
                guard dim <= UInt64(Int64.max) else {
                    throw FormatError.invalidGGUF(path: path, detail: "tensor \"\(name)\" has dimension \(dim)")
                }
                dims.append(Int(dim))  // allowed: dim <= Int64.max checked just before
            }
            let type = GGMLType(rawValue: try reader.read(UInt32.self, "the type of tensor \"\(name)\""))
            let offset = try reader.read(UInt64.self, "the offset of tensor \"\(name)\"")
            infos.append((name, dims, type, offset))
        }

        let headerEnd = reader.offset
        let dataStart = (headerEnd + alignment - 1) / alignment * alignment
        self.dataStart = dataStart
        let dataLength = max(0, file.size - dataStart)

        var tensors: [GGUFTensorInfo] = []
        var tensorIndex: [String: Int] = [:]
        for info in infos {
            let name = info.name
            guard info.type.isKnown else {
                throw FormatError.unsupportedGGMLType(path: path, tensor: name, type: info.type.name)
            }
            var elements = 1
            for dim in info.dims {
                let (product, overflow) = elements.multipliedReportingOverflow(by: dim)
                guard !overflow else {
                    throw FormatError.invalidGGUF(path: path, detail: "tensor \"\(name)\" dimensions \(info.dims) overflow")
                }
                elements = product
            }
            let blockSize = info.type.blockSize ?? 1
            guard (info.dims.first ?? 1) % blockSize == 0, let byteCount = info.type.byteCount(elements: elements) else {
                throw FormatError.invalidGGUF(
                    path: path, detail: "tensor \"\(name)\" has row length \(info.dims.first ?? 1), not a multiple of the "
                        + "\(info.type.name) block size \(blockSize)")
            }
            guard info.offset % UInt64(alignment) == 0 else {  // allowed: alignment is a positive Int read and checked above
                throw FormatError.invalidGGUF(
                    path: path, detail: "tensor \"\(name)\" data offset \(info.offset) is not a multiple of the alignment \(alignment)")
            }
            guard info.offset <= UInt64(dataLength), byteCount <= dataLength - Int(info.offset) else {  // allowed: the offset is checked <= dataLength (an Int) first in this guard
                throw FormatError.truncated(
                    path: path, what: "data of tensor \"\(name)\"", offset: dataStart &+ Int(clamping: info.offset),
                    needed: byteCount, fileSize: file.size)
            }
            guard tensorIndex.updateValue(tensors.count, forKey: name) == nil else {
                throw FormatError.invalidGGUF(path: path, detail: "tensor \"\(name)\" appears twice")
            }
            tensors.append(GGUFTensorInfo(name: name, dims: info.dims, type: info.type, offset: Int(info.offset),  // allowed: offset <= dataLength checked above
                                          elementCount: elements, byteCount: byteCount))
        }
        self.tensors = tensors
        self.tensorIndex = tensorIndex
    }

    /// Arrays nest at most this deep (llama.cpp files use one level).
    private static let maxDepth = 8

    private static func readValue(_ type: GGUFValueType, _ reader: inout ByteReader, key: String, depth: Int) throws -> GGUFValue {
        let what = "the value of metadata \"\(key)\""
        switch type {
        case .uint8: return .uint8(try reader.read(UInt8.self, what))
        case .int8: return .int8(try reader.read(Int8.self, what))
        case .uint16: return .uint16(try reader.read(UInt16.self, what))
        case .int16: return .int16(try reader.read(Int16.self, what))
        case .uint32: return .uint32(try reader.read(UInt32.self, what))
        case .int32: return .int32(try reader.read(Int32.self, what))
        case .uint64: return .uint64(try reader.read(UInt64.self, what))
        case .int64: return .int64(try reader.read(Int64.self, what))
        case .float32: return .float32(Float(bitPattern: try reader.read(UInt32.self, what)))
        case .float64: return .float64(Double(bitPattern: try reader.read(UInt64.self, what)))
        case .bool:
            let byte = try reader.read(UInt8.self, what)
            guard byte <= 1 else {
                throw FormatError.invalidGGUF(path: reader.path, detail: "metadata \"\(key)\" has bool value \(byte)")
            }
            return .bool(byte == 1)
        case .string: return .string(try reader.string(what))
        case .array:
            guard depth < maxDepth else {
                throw FormatError.invalidGGUF(path: reader.path, detail: "metadata \"\(key)\" nests arrays deeper than \(maxDepth)")
            }
            let rawType = try reader.read(UInt32.self, what)
            guard let elementType = GGUFValueType(rawValue: rawType) else {
                throw FormatError.invalidGGUF(path: reader.path, detail: "metadata \"\(key)\" is an array of unknown type \(rawType)")
            }
            let count = try reader.read(UInt64.self, what)
            // Strings need at least 8 bytes each, arrays 12.
            let minimum = UInt64(elementType.fixedSize ?? (elementType == .string ? 8 : 12))  // allowed: a small element size widens
            guard count <= UInt64(reader.remaining) / minimum else {  // allowed: remaining is a non-negative Int; widens
                throw FormatError.truncated(path: reader.path, what: "the \(count) elements of metadata \"\(key)\"",
                                            offset: reader.offset, needed: Int(clamping: count.multipliedReportingOverflow(by: minimum).partialValue),
                                            fileSize: reader.bytes.count)
            }
            var elements: [GGUFValue] = []
            elements.reserveCapacity(Int(count))  // allowed: count <= remaining / element size (an Int) checked just before
            for _ in 0..<Int(count) {  // allowed: count <= remaining / element size (an Int) checked just before
                elements.append(try readValue(elementType, &reader, key: key, depth: depth + 1))
            }
            return .array(elementType: elementType, elements)
        }
    }

    // MARK: - Tensors

    /// Tensor names in file order.
    public var tensorNames: [String] { tensors.map(\.name) }

    /// The info of tensor `name`, or nil.
    public func tensor(_ name: String) -> GGUFTensorInfo? { tensorIndex[name].map { tensors[$0] } }

    /// The raw bytes of tensor `name` (ggml blocks), without copying; valid while this object is alive.
    /// - Throws: `FormatError.tensorNotFound`.
    public func bytes(_ name: String) throws -> UnsafeRawBufferPointer {
        guard let info = tensor(name) else { throw FormatError.tensorNotFound(path: url.path, tensor: name) }
        guard let buffer = file.bytes(at: dataStart + info.offset, count: info.byteCount) else {
            // Unreachable: bounds were validated when the file was opened.
            throw FormatError.truncated(path: url.path, what: "data of tensor \"\(name)\"", offset: dataStart + info.offset,
                                        needed: info.byteCount, fileSize: file.size)
        }
        return buffer
    }

    /// Tensor `name` dequantized to `Float`, in ggml order (`dims[0]` fastest = row-major for `shape`).
    /// - Throws: `FormatError.tensorNotFound`, or `.unsupportedGGMLType` for types `GGMLDequantizer` lacks.
    public func floats(_ name: String) throws -> [Float] {
        let buffer = try bytes(name)
        guard let info = tensor(name) else { throw FormatError.tensorNotFound(path: url.path, tensor: name) }
        return try GGMLDequantizer.dequantize(buffer, type: info.type, count: info.elementCount, path: url.path, tensor: name)
    }
}
