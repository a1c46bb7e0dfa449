/// Typed metadata lookups. Each throws `FormatError.metadataKey` naming the file and key when the key is
/// absent or holds another type; use `value(_:)` (nil when absent) for optional keys.
extension GGUFFile {
    /// The value of `key`, or nil when absent.
    public func value(_ key: String) -> GGUFValue? { metadata[key] }

    /// Whether the file has metadata `key`.
    public func has(_ key: String) -> Bool { metadata[key] != nil }

    private func require(_ key: String) throws -> GGUFValue {
        guard let value = metadata[key] else {
            throw FormatError.metadataKey(path: url.path, key: key, detail: "is absent")
        }
        return value
    }

    private func mismatch(_ key: String, _ value: GGUFValue, _ wanted: String) -> FormatError {
        .metadataKey(path: url.path, key: key, detail: "holds \(value.type) \(value), not \(wanted)")
    }

    /// A string value.
    public func string(_ key: String) throws -> String {
        let value = try require(key)
        guard let string = value.stringValue else { throw mismatch(key, value, "a string") }
        return string
    }

    /// An integer value of any width (uint8 ... int64) that fits in `Int`.
    public func int(_ key: String) throws -> Int {
        let value = try require(key)
        guard let int = value.intValue else { throw mismatch(key, value, "an integer") }
        return int
    }

    /// A float32 or float64 value (integers are accepted and converted).
    public func double(_ key: String) throws -> Double {
        let value = try require(key)
        guard let double = value.doubleValue else { throw mismatch(key, value, "a number") }
        return double
    }

    /// A float32 or float64 value as `Float` (integers are accepted and converted).
    public func float(_ key: String) throws -> Float { Float(try double(key)) }

    /// A bool value.
    public func bool(_ key: String) throws -> Bool {
        let value = try require(key)
        guard let bool = value.boolValue else { throw mismatch(key, value, "a bool") }
        return bool
    }

    /// An array value (elements of one type; possibly arrays themselves).
    public func array(_ key: String) throws -> [GGUFValue] {
        let value = try require(key)
        guard let array = value.arrayValue else { throw mismatch(key, value, "an array") }
        return array
    }

    /// An array of strings (`tokenizer.ggml.tokens`, `tokenizer.ggml.merges`).
    public func stringArray(_ key: String) throws -> [String] {
        let value = try require(key)
        guard case let .array(.string, elements) = value else { throw mismatch(key, value, "an array of strings") }
        return elements.compactMap(\.stringValue)
    }

    /// An array of integers of any width (`tokenizer.ggml.token_type`).
    public func intArray(_ key: String) throws -> [Int] {
        let value = try require(key)
        guard let elements = value.arrayValue else { throw mismatch(key, value, "an array of integers") }
        var result: [Int] = []
        result.reserveCapacity(elements.count)
        for element in elements {
            guard let int = element.intValue else { throw mismatch(key, value, "an array of integers") }
            result.append(int)
        }
        return result
    }

    /// An array of numbers as `Float` (`tokenizer.ggml.scores`).
    public func floatArray(_ key: String) throws -> [Float] {
        let value = try require(key)
        guard let elements = value.arrayValue else { throw mismatch(key, value, "an array of numbers") }
        var result: [Float] = []
        result.reserveCapacity(elements.count)
        for element in elements {
            guard let double = element.doubleValue else { throw mismatch(key, value, "an array of numbers") }
            result.append(Float(double))
        }
        return result
    }

    /// `general.architecture` (`"llama"`, `"qwen2"` ...).
    public var architecture: String? { metadata["general.architecture"]?.stringValue }
}
