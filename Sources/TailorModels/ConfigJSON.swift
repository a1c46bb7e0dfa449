#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import TailorJSON

/// Typed reads of a config object that name the file and field when a value is wrong.
struct ConfigReader {
    let object: JSONObject
    let file: String

    /// Reads config.json bytes (fields vary in type between versions: eos_token_id an int or a list,
    /// rope parameters under two names, so the reads below are typed one field at a time).
    /// - Throws: `ModelError.unreadable` naming the file, line and column of bad JSON.
    init(data: Data, file: String) throws {
        let value: JSONValue
        do {
            value = try JSONValue(parsing: [UInt8](data), file: file)
        } catch {
            throw ModelError.unreadable(path: file, reason: error.detail)
        }
        guard let object = value.objectValue else {
            throw ModelError.unreadable(path: file, reason: "the top level is not a JSON object")
        }
        self.object = object
        self.file = file
    }

    init(object: JSONObject, file: String) {
        self.object = object
        self.file = file
    }

    func has(_ key: String) -> Bool { object[key].map { !$0.isNull } ?? false }

    func int(_ key: String) throws -> Int {
        guard let raw = object[key], !raw.isNull else {
            throw ModelError.badConfig(file: file, field: key, problem: "is missing")
        }
        guard let value = raw.integralValue, value >= 0 else {
            throw ModelError.badConfig(file: file, field: key, problem: "must be a non-negative integer")
        }
        return value
    }

    func int(_ key: String, default fallback: Int?) throws -> Int? {
        has(key) ? try int(key) : fallback
    }

    func double(_ key: String, default fallback: Double) throws -> Double {
        guard let raw = object[key], !raw.isNull else { return fallback }
        guard let value = raw.doubleValue else {
            throw ModelError.badConfig(file: file, field: key, problem: "must be a number")
        }
        return value
    }

    func bool(_ key: String, default fallback: Bool) throws -> Bool {
        guard let raw = object[key], !raw.isNull else { return fallback }
        guard let value = raw.boolValue else {
            throw ModelError.badConfig(file: file, field: key, problem: "must be true or false")
        }
        return value
    }

    func string(_ key: String) -> String? { object[key]?.stringValue }

    /// An int or a list of ints (eos_token_id).
    func intList(_ key: String) throws -> [Int] {
        guard let raw = object[key], !raw.isNull else { return [] }
        if let value = raw.integralValue { return [value] }
        if let items = raw.arrayValue {
            let values = items.compactMap(\.integralValue)
            if values.count == items.count { return values }
        }
        throw ModelError.badConfig(file: file, field: key, problem: "must be an integer or a list of integers")
    }
}
