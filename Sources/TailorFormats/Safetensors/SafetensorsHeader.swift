import TailorJSON

/// The parsed and validated JSON header of a safetensors file.
struct SafetensorsHeader {
    var metadata: [String: String] = [:]
    /// In header order.
    var tensors: [SafetensorsTensorInfo] = []

    /// Parses `json` and checks every entry against the data section, which runs from `dataStart` to the
    /// end of a file of `fileSize` bytes.
    init(json: UnsafeRawBufferPointer, path: String, dataStart: Int, fileSize: Int) throws {
        let root: JSONValue
        do {
            // serde_json's rules, as the reference reader's: a repeated key or a lone surrogate is corruption.
            root = try JSONValue(parsing: json, file: path, options: .strict)
        } catch {
            throw FormatError.invalidHeader(path: path, detail: error.detail)
        }
        guard case let .object(members) = root else {
            throw FormatError.invalidHeader(path: path, detail: "the header is a JSON \(root.typeName), not an object")
        }
        for (key, value) in members {
            if key == "__metadata__" {
                metadata = try SafetensorsHeader.parseMetadata(value, path: path)
            } else {
                tensors.append(try SafetensorsHeader.parseTensor(key, value, path: path))
            }
        }
        try SafetensorsHeader.checkLayout(tensors, path: path, dataStart: dataStart, fileSize: fileSize)
    }

    private static func parseMetadata(_ value: JSONValue, path: String) throws -> [String: String] {
        guard case let .object(members) = value else {
            throw FormatError.invalidHeader(path: path, detail: "__metadata__ is a \(value.typeName), not an object")
        }
        var metadata: [String: String] = [:]
        for (key, entry) in members {
            guard case let .string(text) = entry else {
                throw FormatError.invalidHeader(
                    path: path, detail: "__metadata__ value of \"\(key)\" is a \(entry.typeName); values must be strings")
            }
            metadata[key] = text
        }
        return metadata
    }

    private static func parseTensor(_ name: String, _ value: JSONValue, path: String) throws -> SafetensorsTensorInfo {
        func bad(_ detail: String) -> FormatError { .invalidTensorEntry(path: path, tensor: name, detail: detail) }
        guard case .object = value else { throw bad("entry is a \(value.typeName), not an object") }
        guard let dtypeValue = value["dtype"] else { throw bad("missing \"dtype\"") }
        guard case let .string(dtypeName) = dtypeValue else { throw bad("\"dtype\" is a \(dtypeValue.typeName), not a string") }
        guard let shapeValue = value["shape"] else { throw bad("missing \"shape\"") }
        guard let offsetsValue = value["data_offsets"] else { throw bad("missing \"data_offsets\"") }
        guard let dtype = SafetensorsDType(rawValue: dtypeName) else {
            throw FormatError.unknownDType(path: path, tensor: name, dtype: dtypeName)
        }
        guard let shape = integers(shapeValue) else { throw bad("\"shape\" is not an array of integers") }
        guard let offsets = integers(offsetsValue), offsets.count == 2 else {
            throw bad("\"data_offsets\" is not an array of two integers")
        }
        var elements = 1
        for dim in shape {
            guard dim >= 0 else { throw FormatError.invalidShape(path: path, tensor: name, shape: shape) }
            let (product, overflow) = elements.multipliedReportingOverflow(by: dim)
            guard !overflow else { throw FormatError.invalidShape(path: path, tensor: name, shape: shape) }
            elements = product
        }
        guard let expectedBytes = dtype.byteCount(elements: elements) else {
            throw FormatError.invalidShape(path: path, tensor: name, shape: shape)
        }
        let (begin, end) = (offsets[0], offsets[1])
        guard begin >= 0, end >= begin else {
            throw FormatError.invalidOffsets(path: path, tensor: name,
                                             detail: "data_offsets [\(begin), \(end)] are negative or reversed")
        }
        guard end - begin == expectedBytes else {
            throw FormatError.byteCountMismatch(path: path, tensor: name, expected: expectedBytes, actual: end - begin)
        }
        return SafetensorsTensorInfo(name: name, dtype: dtype, shape: shape, dataOffsets: begin..<end)
    }

    private static func integers(_ value: JSONValue) -> [Int]? {
        guard case let .array(elements) = value else { return nil }
        var result: [Int] = []
        result.reserveCapacity(elements.count)
        for element in elements {
            guard case let .int(number) = element else { return nil }
            result.append(number)
        }
        return result
    }

    /// Tensors must tile the data section exactly: sorted by offset, each starts where the previous ended,
    /// and the last ends at the end of the file (the reference implementation's rule).
    private static func checkLayout(_ tensors: [SafetensorsTensorInfo], path: String, dataStart: Int, fileSize: Int) throws {
        let dataLength = fileSize - dataStart
        let sorted = tensors.sorted {
            ($0.dataOffsets.lowerBound, $0.dataOffsets.upperBound) < ($1.dataOffsets.lowerBound, $1.dataOffsets.upperBound)
        }
        var expected = 0
        var previous: String?
        for info in sorted {
            let begin = info.dataOffsets.lowerBound
            if begin < expected {
                throw FormatError.invalidOffsets(
                    path: path, tensor: info.name,
                    detail: "data_offsets [\(begin), \(info.dataOffsets.upperBound)] overlap tensor \"\(previous ?? "")\" "
                        + "which ends at \(expected)")
            }
            if begin > expected {
                throw FormatError.invalidOffsets(
                    path: path, tensor: info.name,
                    detail: "data starts at \(begin) but the previous tensor ends at \(expected) (a gap of "
                        + "\(begin - expected) bytes; safetensors requires contiguous data)")
            }
            if info.dataOffsets.upperBound > dataLength {
                throw FormatError.truncated(
                    path: path, what: "data of tensor \"\(info.name)\"", offset: dataStart + begin,
                    needed: info.byteCount, fileSize: fileSize)
            }
            expected = info.dataOffsets.upperBound
            previous = info.name
        }
        if expected != dataLength {
            throw FormatError.invalidHeader(
                path: path,
                detail: "the data section has \(dataLength) bytes but its tensors cover \(expected) (trailing bytes)")
        }
    }
}
