#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Any JSON value, for reading config files whose fields vary in type between versions
/// (eos_token_id as an int or a list; rope parameters under two names).
enum ConfigValue: Decodable, Equatable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([ConfigValue])
    case object([String: ConfigValue])

    init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() { self = .null }
        else if let value = try? container.decode(Bool.self) { self = .bool(value) }
        else if let value = try? container.decode(Double.self) { self = .number(value) }
        else if let value = try? container.decode(String.self) { self = .string(value) }
        else if let value = try? container.decode([ConfigValue].self) { self = .array(value) }
        else { self = .object(try container.decode([String: ConfigValue].self)) }
    }

    var double: Double? { if case let .number(v) = self { return v }; return nil }
    var int: Int? {
        if case let .number(v) = self, v.rounded() == v, abs(v) < 1e15 { return Int(v) }
        return nil
    }
    var bool: Bool? { if case let .bool(v) = self { return v }; return nil }
    var string: String? { if case let .string(v) = self { return v }; return nil }
    var array: [ConfigValue]? { if case let .array(v) = self { return v }; return nil }
    var object: [String: ConfigValue]? { if case let .object(v) = self { return v }; return nil }
    var isNull: Bool { self == .null }
}

/// Typed reads of a config object that name the file and field when a value is wrong.
struct ConfigReader {
    let object: [String: ConfigValue]
    let file: String

    init(data: Data, file: String) throws {
        let value: ConfigValue
        do {
            value = try JSONDecoder().decode(ConfigValue.self, from: data)
        } catch {
            throw ModelError.unreadable(path: file, reason: "not valid JSON (\(error))")
        }
        guard let object = value.object else {
            throw ModelError.unreadable(path: file, reason: "the top level is not a JSON object")
        }
        self.object = object
        self.file = file
    }

    init(object: [String: ConfigValue], file: String) {
        self.object = object
        self.file = file
    }

    func has(_ key: String) -> Bool { object[key].map { !$0.isNull } ?? false }

    func int(_ key: String) throws -> Int {
        guard let raw = object[key], !raw.isNull else {
            throw ModelError.badConfig(file: file, field: key, problem: "is missing")
        }
        guard let value = raw.int, value >= 0 else {
            throw ModelError.badConfig(file: file, field: key, problem: "must be a non-negative integer")
        }
        return value
    }

    func int(_ key: String, default fallback: Int?) throws -> Int? {
        has(key) ? try int(key) : fallback
    }

    func double(_ key: String, default fallback: Double) throws -> Double {
        guard let raw = object[key], !raw.isNull else { return fallback }
        guard let value = raw.double else {
            throw ModelError.badConfig(file: file, field: key, problem: "must be a number")
        }
        return value
    }

    func bool(_ key: String, default fallback: Bool) throws -> Bool {
        guard let raw = object[key], !raw.isNull else { return fallback }
        guard let value = raw.bool else {
            throw ModelError.badConfig(file: file, field: key, problem: "must be true or false")
        }
        return value
    }

    func string(_ key: String) -> String? { object[key]?.string }

    /// An int or a list of ints (eos_token_id).
    func intList(_ key: String) throws -> [Int] {
        guard let raw = object[key], !raw.isNull else { return [] }
        if let value = raw.int { return [value] }
        if let values = raw.array?.compactMap(\.int), values.count == raw.array?.count { return values }
        throw ModelError.badConfig(file: file, field: key, problem: "must be an integer or a list of integers")
    }
}
