#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import TailorTensor

/// One tensor's entry in a safetensors header.
public struct SafetensorsTensorInfo: Sendable, Equatable {
    public let name: String
    public let dtype: SafetensorsDType
    /// Row-major shape, outermost first (`[]` for a scalar).
    public let shape: [Int]
    /// `[begin, end)` relative to the start of the data section (right after the header).
    public let dataOffsets: Range<Int>

    /// Bytes of data (`dataOffsets.count`).
    public var byteCount: Int { dataOffsets.count }
    /// Number of elements (`product(shape)`, 1 for a scalar).
    public var elementCount: Int { shape.reduce(1, *) }
}

/// A safetensors file, memory-mapped read-only and validated when opened.
///
/// Layout: an 8-byte little-endian header length `n`, `n` bytes of JSON (an object mapping tensor names
/// to `{dtype, shape, data_offsets}` plus an optional `__metadata__` string map), then the data section.
/// Opening checks everything the reference implementation checks — offsets contiguous, in bounds and
/// matching `shape` x `dtype` — so later lookups cannot read outside the file.
///
/// Buffers returned by `bytes(_:)` point into the mapping and stay valid only while this object is alive:
/// keep a reference to the `SafetensorsFile` for as long as you use them (or copy the bytes).
public final class SafetensorsFile: Sendable {
    /// Header length limit, as in the reference implementation.
    public static let maxHeaderLength = 100_000_000

    public let url: URL
    /// The `__metadata__` map (empty when absent), e.g. `["format": "pt"]`.
    public let metadata: [String: String]
    /// Tensor names in header order (for files written by `safetensors` this is also data order:
    /// dtype size descending, then name).
    public let tensorNames: [String]
    /// Byte offset of the data section in the file (`8 + header length`).
    public let dataStart: Int

    private let infos: [String: SafetensorsTensorInfo]
    private let file: MappedFile

    /// Maps and validates the file.
    /// - Throws: `FormatError` naming the file (and tensor) for every malformed header or data section.
    public init(url: URL) throws {
        self.url = url
        let file = try MappedFile(url: url)
        self.file = file
        let path = url.path
        guard let lengthBytes = file.bytes(at: 0, count: 8) else {
            throw FormatError.truncated(path: path, what: "the 8-byte header length", offset: 0, needed: 8,
                                        fileSize: file.size)
        }
        let headerLength = lengthBytes.loadUnaligned(as: UInt64.self).littleEndian
        guard headerLength <= UInt64(SafetensorsFile.maxHeaderLength), Int(headerLength) <= file.size - 8,  // allowed: headerLength <= maxHeaderLength (100 MB) is checked first in this guard
              let headerBytes = file.bytes(at: 8, count: Int(headerLength)) else {  // allowed: headerLength <= maxHeaderLength (100 MB) is checked first in this guard
            throw FormatError.badHeaderLength(path: path, headerLength: headerLength, fileSize: file.size)
        }
        dataStart = 8 + Int(headerLength)  // allowed: headerLength <= maxHeaderLength (100 MB) is checked first in this guard
        let header = try SafetensorsHeader(json: headerBytes, path: path, dataStart: dataStart, fileSize: file.size)
        metadata = header.metadata
        tensorNames = header.tensors.map(\.name)
        infos = Dictionary(header.tensors.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
    }

    /// The header entry of `name`, or nil when the file has no such tensor.
    public func info(_ name: String) -> SafetensorsTensorInfo? { infos[name] }

    /// All header entries, in `tensorNames` order.
    public var tensorInfos: [SafetensorsTensorInfo] { tensorNames.compactMap { infos[$0] } }

    /// The raw little-endian bytes of tensor `name`, without copying.
    ///
    /// The buffer points into the memory mapping: it is valid only while this `SafetensorsFile` is alive,
    /// and is not necessarily aligned for the element type (use `loadUnaligned`).
    /// - Throws: `FormatError.tensorNotFound` when the file has no such tensor.
    public func bytes(_ name: String) throws -> UnsafeRawBufferPointer {
        guard let info = infos[name] else { throw FormatError.tensorNotFound(path: url.path, tensor: name) }
        // In bounds: validated when the file was opened.
        guard let buffer = file.bytes(at: dataStart + info.dataOffsets.lowerBound, count: info.byteCount) else {
            throw FormatError.truncated(path: url.path, what: "data of tensor \"\(name)\"",
                                        offset: dataStart + info.dataOffsets.lowerBound,
                                        needed: info.byteCount, fileSize: file.size)
        }
        return buffer
    }

    /// Drops tensor `name`'s mapped pages from the resident set, once its values were copied out (a weight
    /// quantized while loading): RSS then shows what the process holds, not the file pages it read.
    public func releasePages(_ name: String) {
        guard let buffer = try? bytes(name) else { return }
        file.dropPages(buffer)
    }

    /// Tensor `name` as `Float`s in row-major order: F32 copied; F16, BF16, F64 and the float8 types widened
    /// or narrowed; integer and BOOL types converted (exact up to 2^24).
    /// - Throws: `FormatError.tensorNotFound`, or `.unsupportedConversion` for C64 and the sub-byte types.
    public func floats(_ name: String) throws -> [Float] {
        let buffer = try bytes(name)
        guard let info = infos[name] else { throw FormatError.tensorNotFound(path: url.path, tensor: name) }
        let count = info.elementCount
        switch info.dtype {
        case .f32: return ElementDecoding.f32(buffer, count: count)
        case .f16: return ElementDecoding.f16(buffer, count: count)
        case .bf16: return ElementDecoding.bf16(buffer, count: count)
        case .f64: return ElementDecoding.f64(buffer, count: count)
        case .i64: return ElementDecoding.widen(buffer, count: count, as: Int64.self) { Float($0) }
        case .u64: return ElementDecoding.widen(buffer, count: count, as: UInt64.self) { Float($0) }
        case .i32: return ElementDecoding.widen(buffer, count: count, as: Int32.self) { Float($0) }
        case .u32: return ElementDecoding.widen(buffer, count: count, as: UInt32.self) { Float($0) }
        case .i16: return ElementDecoding.widen(buffer, count: count, as: Int16.self) { Float($0) }
        case .u16: return ElementDecoding.widen(buffer, count: count, as: UInt16.self) { Float($0) }
        case .i8: return ElementDecoding.widen(buffer, count: count, as: Int8.self) { Float($0) }
        case .u8: return ElementDecoding.widen(buffer, count: count, as: UInt8.self) { Float($0) }
        case .bool: return ElementDecoding.widen(buffer, count: count, as: UInt8.self) { $0 != 0 ? 1 : 0 }
        case .f8E5M2: return ElementDecoding.widen(buffer, count: count, as: UInt8.self, ElementDecoding.f8E5M2ToFloat)
        case .f8E4M3: return ElementDecoding.widen(buffer, count: count, as: UInt8.self, ElementDecoding.f8E4M3ToFloat)
        case .f8E8M0: return ElementDecoding.widen(buffer, count: count, as: UInt8.self, ElementDecoding.f8E8M0ToFloat)
        case .c64, .f4, .f6E2M3, .f6E3M2:
            throw FormatError.unsupportedConversion(path: url.path, tensor: name, from: info.dtype.rawValue,
                                                    to: "Float")
        }
    }
}
