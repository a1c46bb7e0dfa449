/// A GGUF metadata value: the 13 value types of the format, arrays holding one element type each
/// (arrays of arrays included).
public enum GGUFValue: Sendable, Equatable, CustomStringConvertible {
    case uint8(UInt8)
    case int8(Int8)
    case uint16(UInt16)
    case int16(Int16)
    case uint32(UInt32)
    case int32(Int32)
    case float32(Float)
    case bool(Bool)
    case string(String)
    /// `elementType` is the array's declared element type (kept for empty arrays).
    case array(elementType: GGUFValueType, [GGUFValue])
    case uint64(UInt64)
    case int64(Int64)
    case float64(Double)

    /// The wire type of this value.
    public var type: GGUFValueType {
        switch self {
        case .uint8: return .uint8
        case .int8: return .int8
        case .uint16: return .uint16
        case .int16: return .int16
        case .uint32: return .uint32
        case .int32: return .int32
        case .float32: return .float32
        case .bool: return .bool
        case .string: return .string
        case .array: return .array
        case .uint64: return .uint64
        case .int64: return .int64
        case .float64: return .float64
        }
    }

    /// The value as `Int` when it is an integer of any width that fits (bools are not integers).
    public var intValue: Int? {
        switch self {
        case let .uint8(v): return Int(v)  // allowed: an 8/16/32-bit GGUF integer widens to Int
        case let .int8(v): return Int(v)  // allowed: an 8/16/32-bit GGUF integer widens to Int
        case let .uint16(v): return Int(v)  // allowed: an 8/16/32-bit GGUF integer widens to Int
        case let .int16(v): return Int(v)  // allowed: an 8/16/32-bit GGUF integer widens to Int
        case let .uint32(v): return Int(v)  // allowed: an 8/16/32-bit GGUF integer widens to Int
        case let .int32(v): return Int(v)  // allowed: an 8/16/32-bit GGUF integer widens to Int
        case let .uint64(v): return Int(exactly: v)
        case let .int64(v): return Int(v)  // allowed: an 8/16/32-bit GGUF integer widens to Int
        default: return nil
        }
    }

    /// The value as `Double` when it is a float (or an integer, converted).
    public var doubleValue: Double? {
        switch self {
        case let .float32(v): return Double(v)
        case let .float64(v): return v
        default: return intValue.map(Double.init)
        }
    }

    public var stringValue: String? {
        if case let .string(s) = self { return s }
        return nil
    }

    public var boolValue: Bool? {
        if case let .bool(b) = self { return b }
        return nil
    }

    public var arrayValue: [GGUFValue]? {
        if case let .array(_, elements) = self { return elements }
        return nil
    }

    public var description: String {
        switch self {
        case let .uint8(v): return "\(v)"
        case let .int8(v): return "\(v)"
        case let .uint16(v): return "\(v)"
        case let .int16(v): return "\(v)"
        case let .uint32(v): return "\(v)"
        case let .int32(v): return "\(v)"
        case let .float32(v): return "\(v)"
        case let .bool(v): return "\(v)"
        case let .string(v): return "\"\(v)\""
        case let .array(type, elements):
            let head = elements.prefix(8).map(\.description).joined(separator: ", ")
            return "[\(type)] x \(elements.count) [\(head)\(elements.count > 8 ? ", ..." : "")]"
        case let .uint64(v): return "\(v)"
        case let .int64(v): return "\(v)"
        case let .float64(v): return "\(v)"
        }
    }
}

/// The GGUF metadata value type codes (`gguf_type`).
public enum GGUFValueType: UInt32, Sendable, CustomStringConvertible {
    case uint8 = 0, int8 = 1, uint16 = 2, int16 = 3, uint32 = 4, int32 = 5, float32 = 6, bool = 7, string = 8
    case array = 9, uint64 = 10, int64 = 11, float64 = 12

    /// Bytes of one value for fixed-size types, nil for strings and arrays.
    var fixedSize: Int? {
        switch self {
        case .uint8, .int8, .bool: return 1
        case .uint16, .int16: return 2
        case .uint32, .int32, .float32: return 4
        case .uint64, .int64, .float64: return 8
        case .string, .array: return nil
        }
    }

    public var description: String {
        switch self {
        case .uint8: return "uint8"
        case .int8: return "int8"
        case .uint16: return "uint16"
        case .int16: return "int16"
        case .uint32: return "uint32"
        case .int32: return "int32"
        case .float32: return "float32"
        case .bool: return "bool"
        case .string: return "string"
        case .array: return "array"
        case .uint64: return "uint64"
        case .int64: return "int64"
        case .float64: return "float64"
        }
    }
}
