import Foundation

/// The pieces of a SentencePiece `tokenizer.model` (the `ModelProto` protobuf message of sentencepiece_model.proto):
/// field 1, `repeated SentencePiece pieces`, each `{ string piece = 1; float score = 2; Type type = 3 [default = NORMAL]; }`.
/// The trainer and normalizer specs (fields 2 and 3) and anything else are skipped; convert_hf_to_gguf.py reads only
/// the pieces, their scores and their types.
public struct SentencePieceModel: Sendable, Equatable {
    /// sentencepiece_model.proto's `SentencePiece.Type`.
    public enum PieceType: Int, Sendable {
        case normal = 1, unknown = 2, control = 3, userDefined = 4, unused = 5, byte = 6
    }

    public struct Piece: Sendable, Equatable {
        public var piece: String
        public var score: Float
        public var type: PieceType
    }

    /// The pieces, by id.
    public var pieces: [Piece]

    /// Parses the protobuf bytes of `file`.
    /// - Throws: `TokenizerError.fileNotReadable` when the file cannot be read; `TokenizerError.invalidValue` naming the
    ///   byte offset for a truncated or malformed message, a piece that is not UTF-8 or a type the format lacks.
    public init(contentsOf url: URL) throws {
        let bytes: [UInt8]
        do { bytes = Array(try Data(contentsOf: url)) } catch {
            throw TokenizerError.fileNotReadable(file: url.path, reason: error.localizedDescription)
        }
        try self.init(bytes: bytes, file: url.path)
    }

    public init(bytes: [UInt8], file: String) throws {
        var reader = ProtobufReader(bytes: bytes[...], file: file)
        var pieces: [Piece] = []
        while let (field, wire) = try reader.key() {
            if field == 1, wire == 2 {
                var message = ProtobufReader(bytes: try reader.lengthDelimited(), file: file)
                pieces.append(try Self.piece(&message, index: pieces.count))
            } else {
                try reader.skip(wire: wire)
            }
        }
        self.pieces = pieces
    }

    private static func piece(_ reader: inout ProtobufReader, index: Int) throws -> Piece {
        var text = "", score: Float = 0, type = PieceType.normal
        while let (field, wire) = try reader.key() {
            switch (field, wire) {
            case (1, 2):
                let raw = try reader.lengthDelimited()
                guard let string = String(bytes: raw, encoding: .utf8) else {
                    throw reader.error("pieces[\(index)].piece", "is not valid UTF-8")
                }
                text = string
            case (2, 5):
                score = Float(bitPattern: try reader.fixed32())
            case (3, 0):
                let raw = try reader.varint()
                guard let t = PieceType(rawValue: Int(truncatingIfNeeded: raw)) else {  // allowed: checked by PieceType(rawValue:)
                    throw reader.error("pieces[\(index)].type", "is \(raw), not a SentencePiece piece type (1...6)")
                }
                type = t
            default:
                try reader.skip(wire: wire)
            }
        }
        return Piece(piece: text, score: score, type: type)
    }
}

/// Reads protobuf wire format: keys, varints, fixed32/64 and length-delimited fields.
struct ProtobufReader {
    var bytes: ArraySlice<UInt8>
    let file: String

    init(bytes: ArraySlice<UInt8>, file: String) {
        self.bytes = bytes
        self.file = file
    }

    var offset: Int { bytes.startIndex }

    func error(_ path: String, _ reason: String) -> TokenizerError {
        .invalidValue(file: file, path: path, value: "byte \(offset)",
                      reason: reason + " (the file is not a SentencePiece model, or it is truncated)")
    }

    /// The next field number and wire type; nil at the end.
    mutating func key() throws -> (field: UInt64, wire: UInt64)? {
        guard !bytes.isEmpty else { return nil }
        let key = try varint()
        return (key >> 3, key & 7)
    }

    mutating func varint() throws -> UInt64 {
        var value: UInt64 = 0, shift: UInt64 = 0
        while let byte = bytes.first {
            bytes = bytes.dropFirst()
            guard shift < 64 else { throw error("varint", "is longer than 10 bytes") }
            value |= UInt64(byte & 0x7F) << shift  // allowed: widening a byte
            if byte & 0x80 == 0 { return value }
            shift += 7
        }
        throw error("varint", "ends mid-number")
    }

    mutating func fixed32() throws -> UInt32 {
        guard bytes.count >= 4 else { throw error("fixed32", "ends mid-field") }
        var value: UInt32 = 0
        for (i, byte) in bytes.prefix(4).enumerated() { value |= UInt32(byte) << (8 * UInt32(i)) }  // allowed: widening a byte; i < 4
        bytes = bytes.dropFirst(4)
        return value
    }

    mutating func lengthDelimited() throws -> ArraySlice<UInt8> {
        let length = try varint()
        guard length <= UInt64(bytes.count) else { throw error("length", "is \(length), past the end of the message") }  // allowed: a count is never negative
        let count = Int(length)  // allowed: length <= bytes.count, an Int
        let field = bytes.prefix(count)
        bytes = bytes.dropFirst(count)
        return field
    }

    mutating func skip(wire: UInt64) throws {
        switch wire {
        case 0: _ = try varint()
        case 1:
            guard bytes.count >= 8 else { throw error("fixed64", "ends mid-field") }
            bytes = bytes.dropFirst(8)
        case 2: _ = try lengthDelimited()
        case 5: _ = try fixed32()
        default: throw error("wire type", "is \(wire), not one protobuf uses (0, 1, 2, 5)")
        }
    }
}
