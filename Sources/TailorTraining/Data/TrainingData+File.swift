import Foundation
import TailorData

/// Encoded data in a file, so that the processes of a parallel sweep (`tailor sweep --parallel N`)
/// train on data one process encoded: little-endian, `TLRDATA1`, then the counts, the rows (each
/// sample's ids, labels and source line) and the warnings. Written atomically; read back exactly.
extension TrainingData {
    static let fileMagic = Array("TLRDATA1".utf8)

    public func write(to url: URL) throws {
        var out = DataFileWriter()
        out.bytes += Self.fileMagic
        for count in [trainSampleCount, trainLabelTokens, longestSample] { out.int(count) }
        for rows in [train, eval] {
            out.int(rows.count)
            for row in rows {
                out.bytes.append(row.desirable.map { $0 ? 1 : 0 } ?? 2)
                out.int(row.samples.count)
                for sample in row.samples {
                    out.int32s(sample.ids)
                    out.int32s(sample.labels)
                    if let source = sample.source {
                        out.bytes.append(1)
                        out.string(source.file)
                        out.int(source.line)
                        out.int(source.index)
                    } else {
                        out.bytes.append(0)
                    }
                }
            }
        }
        out.int(warnings.count)
        for warning in warnings { out.string(warning) }
        do {
            try DatasetWriter.writeAtomically(out.bytes, to: url.path)
        } catch {
            throw TrainingError.unusableData("\(url.path): the encoded data cannot be written (\(error))")
        }
    }

    /// - Throws: `TrainingError.unusableData` naming the file when it cannot be read or is not such a file.
    public static func read(from url: URL) throws -> TrainingData {
        let bytes: [UInt8]
        do { bytes = Array(try Data(contentsOf: url)) } catch {
            throw TrainingError.unusableData("\(url.path): the encoded data cannot be read (\(error.localizedDescription))")
        }
        var input = DataFileReader(bytes: bytes, path: url.path)
        guard bytes.starts(with: fileMagic) else {
            throw TrainingError.unusableData("\(url.path): not a file of encoded data (no TLRDATA1 header)")
        }
        input.offset = fileMagic.count
        let sampleCount = try input.int(), labelTokens = try input.int(), longest = try input.int()
        var tables: [[TrainingRow]] = []
        for _ in 0..<2 {
            var rows: [TrainingRow] = []
            for _ in 0..<(try input.count()) {
                let flag = try input.byte()
                let desirable: Bool? = flag == 2 ? nil : flag == 1
                var samples: [TrainingSample] = []
                for _ in 0..<(try input.count()) {
                    let ids = try input.int32s(), labels = try input.int32s()
                    let source = try input.byte() == 1 ? SourceLocation(file: try input.string(), line: try input.int(), index: try input.int()) : nil
                    samples.append(TrainingSample(ids: ids, labels: labels, source: source))
                }
                rows.append(TrainingRow(samples, desirable: desirable))
            }
            tables.append(rows)
        }
        let warnings = try (0..<(try input.count())).map { _ in try input.string() }
        guard input.offset == bytes.count else {
            throw TrainingError.unusableData("\(url.path): \(bytes.count - input.offset) bytes after the encoded data; the file is damaged")
        }
        return TrainingData(train: tables[0], eval: tables[1], warnings: warnings,
                            trainSampleCount: sampleCount, trainLabelTokens: labelTokens, longestSample: longest)
    }
}

private struct DataFileWriter {
    var bytes: [UInt8] = []

    mutating func int(_ value: Int) {
        withUnsafeBytes(of: Int64(value).littleEndian) { bytes += $0 }  // allowed: Int widens to Int64
    }

    mutating func int32s(_ values: [Int32]) {
        int(values.count)
        bytes.reserveCapacity(bytes.count + 4 * values.count)
        for value in values { withUnsafeBytes(of: value.littleEndian) { bytes += $0 } }
    }

    mutating func string(_ text: String) {
        let utf8 = Array(text.utf8)
        int(utf8.count)
        bytes += utf8
    }
}

private struct DataFileReader {
    let bytes: [UInt8]
    let path: String
    var offset = 0

    func truncated() -> TrainingError {
        .unusableData("\(path): the encoded data ends early (at byte \(offset) of \(bytes.count)); the file is damaged")
    }

    mutating func byte() throws -> UInt8 {
        guard offset < bytes.count else { throw truncated() }
        defer { offset += 1 }
        return bytes[offset]
    }

    mutating func int() throws -> Int {
        guard bytes.count - offset >= 8 else { throw truncated() }
        var value: Int64 = 0
        for index in (0..<8).reversed() { value = value << 8 | Int64(bytes[offset + index]) }  // allowed: UInt8 widens
        offset += 8
        return Int(value)  // allowed: Int64 is Int on the 64-bit platforms Tailor builds for
    }

    /// A count of items that follow: not negative, and no more than the bytes left could hold.
    mutating func count() throws -> Int {
        let value = try int()
        guard value >= 0, value <= bytes.count - offset else { throw truncated() }
        return value
    }

    mutating func int32s() throws -> [Int32] {
        let count = try count()
        guard bytes.count - offset >= 4 * count else { throw truncated() }
        var values = [Int32](repeating: 0, count: count)
        for index in 0..<count {
            let at = offset + 4 * index
            values[index] = Int32(bitPattern: UInt32(bytes[at]) | UInt32(bytes[at + 1]) << 8 | UInt32(bytes[at + 2]) << 16 | UInt32(bytes[at + 3]) << 24)  // allowed: UInt8 widens
        }
        offset += 4 * count
        return values
    }

    mutating func string() throws -> String {
        let count = try count()
        defer { offset += count }
        return String(decoding: bytes[offset..<(offset + count)], as: UTF8.self)
    }
}
