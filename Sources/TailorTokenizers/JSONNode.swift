import Foundation
import TailorJSON

extension JSONValue {
    /// The JSON type as TokenizerError names it: "a string", "an object", "null".
    var kindName: String {
        switch self {
        case .null: return "null"
        case .array, .object: return "an \(typeName)"
        default: return "a \(typeName)"
        }
    }

    /// Reads a tokenizer file's bytes (or a line of a JSON Lines file that starts on `line`).
    /// Throws `TokenizerError.invalidJSON` naming `file` and the line/column.
    static func parse(_ bytes: [UInt8], line: Int = 1, file: String) throws -> JSONValue {
        do {
            return try JSONValue(parsing: bytes[...], line: line, file: file)
        } catch {
            throw TokenizerError.invalidJSON(file: file, line: error.line, column: error.column, reason: error.reason)
        }
    }

    /// Reads a tokenizer file. Throws `TokenizerError.fileNotReadable` or `.invalidJSON` naming the file.
    static func parse(contentsOf url: URL) throws -> JSONValue {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw TokenizerError.fileNotReadable(file: url.path, reason: error.localizedDescription)
        }
        return try parse([UInt8](data), file: url.path)
    }
}

/// A JSON value together with where it came from, so that every accessor can throw an error
/// naming the file and the JSON path.
struct JSONNode {
    let value: JSONValue
    let file: String
    let path: String

    init(_ value: JSONValue, file: String, path: String = "") {
        self.value = value
        self.file = file
        self.path = path
    }

    private func childPath(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    var isNull: Bool { if case .null = value { return true } else { return false } }

    func wrongType(_ expected: String) -> TokenizerError {
        .wrongType(file: file, path: path.isEmpty ? "(top level)" : path, expected: expected, found: value.kindName)
    }

    /// The member `key`, or nil when absent or null.
    func optional(_ key: String) throws -> JSONNode? {
        guard case .object(let object) = value else { throw wrongType("an object") }
        guard let member = object[key], !member.isNull else { return nil }
        return JSONNode(member, file: file, path: childPath(key))
    }

    func required(_ key: String) throws -> JSONNode {
        guard let v = try optional(key) else { throw TokenizerError.missingField(file: file, path: childPath(key)) }
        return v
    }

    var members: [(key: String, value: JSONNode)] {
        get throws {
            guard case .object(let members) = value else { throw wrongType("an object") }
            return members.map { ($0.key, JSONNode($0.value, file: file, path: childPath($0.key))) }
        }
    }

    var elements: [JSONNode] {
        get throws {
            guard case .array(let items) = value else { throw wrongType("an array") }
            return items.enumerated().map { JSONNode($0.element, file: file, path: "\(path)[\($0.offset)]") }
        }
    }

    var string: String {
        get throws {
            guard case .string(let s) = value else { throw wrongType("a string") }
            return s
        }
    }

    var bool: Bool {
        get throws {
            guard case .bool(let b) = value else { throw wrongType("a boolean") }
            return b
        }
    }

    var int: Int {
        get throws {
            guard let i = value.integralValue else { throw wrongType("an integer") }
            return i
        }
    }

    /// A token id: an integer from 0 to 2147483647, as ids are `Int32` through encoding and generation.
    var tokenId: Int {
        get throws {
            let i = try int
            guard i >= 0 && i <= Int(Int32.max) else {
                throw TokenizerError.invalidValue(file: file, path: path, value: String(i),
                                                  reason: "a token id must be an integer from 0 to \(Int32.max)")
            }
            return i
        }
    }

    var double: Double {
        get throws {
            guard let d = value.doubleValue else { throw wrongType("a number") }
            return d
        }
    }

    func string(_ key: String) throws -> String { try required(key).string }
    func optionalString(_ key: String) throws -> String? { try optional(key)?.string }
    func bool(_ key: String, default def: Bool) throws -> Bool { try optional(key)?.bool ?? def }
    func int(_ key: String, default def: Int) throws -> Int { try optional(key)?.int ?? def }

    /// The component's `type` field.
    var type: String { get throws { try string("type") } }
}
