import Foundation
import TailorFormats
import TailorJSON
import TailorModels

/// A reference model's label log-probabilities, computed once before the first step (TRL's
/// `precompute_ref_log_probs`) and looked up by sequence: no second copy of the model and no
/// reference forward per step. With full fine-tuning, or LoRA started from an adapter, the
/// reference is the model as the run starts.
///
/// Kept in output_dir as `reference_logps.json` (one sum and count per sequence of the rows, in
/// row order, with a fingerprint of the rows' ids and labels), so a resumed run reuses the very
/// numbers its first part used.
public struct ReferenceLogProbs: Sendable {
    struct Key: Hashable, Sendable {
        let ids: [Int32]
        let labels: [Int32]
    }

    struct Value: Sendable, Equatable {
        let sum: Double
        let count: Int
    }

    private(set) var table: [Key: Value] = [:]
    /// The fingerprint of the rows the values were computed for.
    let fingerprint: String

    public static let fileName = "reference_logps.json"

    /// Computes the log-probabilities of every sequence of `rows` with `model` as it is now,
    /// `batchSize` rows a batch laid out by `objective`.
    public static func compute(rows: [TrainingRow], objective: TrainingObjective, model: CausalLM, batchSize: Int) throws -> ReferenceLogProbs {
        var result = ReferenceLogProbs(fingerprint: fingerprint(of: rows))
        for start in stride(from: 0, to: rows.count, by: max(1, batchSize)) {
            let batch = try objective.batch(Array(rows[start..<min(start + max(1, batchSize), rows.count)]))
            let logps = try model.labelLogProbs(batch)
            for (index, key) in keys(of: batch).enumerated() {
                result.table[key] = Value(sum: logps.sums[index], count: logps.counts[index])
            }
        }
        return result
    }

    /// The values for `batch`'s sequences, in its order.
    /// - Throws: `TrainingError.internalError` for a sequence that was not precomputed.
    public func lookup(_ batch: TokenBatch) throws -> SequenceLogProbs {
        var sums: [Double] = [], counts: [Int] = []
        for (index, key) in Self.keys(of: batch).enumerated() {
            guard let value = table[key] else {
                throw TrainingError.internalError("sequence \(index) of a batch has no precomputed reference log-probability")
            }
            sums.append(value.sum)
            counts.append(value.count)
        }
        return SequenceLogProbs(sums: sums, counts: counts)
    }

    /// DPO's reference: the lookup.
    public var reference: DPOObjective.Reference {
        let values = self
        return { _, batch in try values.lookup(batch) }
    }

    /// Writes the values of `rows`' sequences to `folder/reference_logps.json`, atomically.
    public func save(rows: [TrainingRow], to folder: URL) throws {
        var sums: [JSONValue] = [], counts: [JSONValue] = []
        for sample in rows.flatMap(\.samples) {
            guard let value = table[Key(ids: sample.ids, labels: sample.labels)] else {
                throw TrainingError.internalError("a row's sequence has no precomputed reference log-probability")
            }
            sums.append(.double(value.sum))
            counts.append(.int(value.count))
        }
        let json = JSONValue.object(JSONObject([
            ("format", .string("tailor reference log-probabilities")), ("version", .int(1)),
            ("fingerprint", .string(fingerprint)), ("sums", .array(sums)), ("counts", .array(counts)),
        ]))
        try AtomicWrite.write(Data((json.text() + "\n").utf8), to: folder.appendingPathComponent(Self.fileName))
    }

    /// The values `save` wrote in `folder` for these same `rows`, or nil when there is no such
    /// file or it was written for other rows (other data, tokenizer or max_length).
    /// - Throws: `TrainingError.checkpoint` for a file that exists but cannot be read.
    public static func load(rows: [TrainingRow], from folder: URL) throws -> ReferenceLogProbs? {
        let url = folder.appendingPathComponent(fileName)
        guard let data = FileManager.default.contents(atPath: url.path) else { return nil }
        func damaged(_ problem: String) -> TrainingError {
            .checkpoint(path: url.path, problem: "is not a reference log-probability file Tailor wrote (\(problem)); delete it to compute the reference again")
        }
        let root: JSONValue
        do { root = try JSONValue(parsing: [UInt8](data), file: url.path) } catch { throw damaged(error.detail) }
        let samples = rows.flatMap(\.samples)
        guard root["fingerprint"]?.stringValue == fingerprint(of: rows) else { return nil }
        guard let sums = root["sums"]?.arrayValue?.compactMap(\.doubleValue), let counts = root["counts"]?.arrayValue?.compactMap(\.integralValue),
              sums.count == samples.count, counts.count == samples.count else {
            throw damaged("sums and counts must be lists of \(samples.count) numbers")
        }
        var result = ReferenceLogProbs(fingerprint: fingerprint(of: rows))
        for (index, sample) in samples.enumerated() {
            result.table[Key(ids: sample.ids, labels: sample.labels)] = Value(sum: sums[index], count: counts[index])
        }
        return result
    }

    /// FNV-1a (64-bit) over every sequence's ids and labels, in row order.
    static func fingerprint(of rows: [TrainingRow]) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        func mix(_ value: Int32) {
            var bits = UInt32(bitPattern: value)
            for _ in 0..<4 {
                hash = (hash ^ UInt64(bits & 0xFF)) &* 0x100_0000_01b3  // allowed: UInt32 widens to UInt64
                bits >>= 8
            }
        }
        for sample in rows.flatMap(\.samples) {
            mix(Int32(clamping: sample.ids.count))
            sample.ids.forEach(mix)
            sample.labels.forEach(mix)
        }
        return String(hash, radix: 16)
    }

    /// The (ids, labels) of each sequence of `batch`, in batch order.
    static func keys(of batch: TokenBatch) -> [Key] {
        var keys: [Key] = []
        var start = 0
        for t in 1...batch.tokenCount where t == batch.tokenCount || Int(batch.seqStart[t]) == t {  // allowed: Int32 widens
            keys.append(Key(ids: Array(batch.inputIds[start..<t]), labels: Array(batch.labels[start..<t])))
            start = t
        }
        return keys
    }
}
