import TailorTensor

/// Keys and values of past tokens, per layer, for decoding one token at a time.
///
/// Shapes legend: S slots (sequences decoded together), L capacity (positions per slot),
/// Hkv key/value heads, D head dim. Each slot holds one sequence; a token at position p of
/// slot s is stored at [s, p]. Preallocated for the longest prompt plus `max_new_tokens`;
/// grouped-query models store only their Hkv heads.
public final class KVCache: @unchecked Sendable {
    /// Number of sequences the cache holds.
    public let slotCount: Int
    /// Positions per slot.
    public let capacity: Int
    /// Per layer [S, L, Hkv, D].
    let keys: [Tensor]
    /// Per layer [S, L, Hkv, D].
    let values: [Tensor]
    /// Tokens stored in each slot [S].
    public internal(set) var lengths: [Int]
    /// Scratch of the cached forward, sized for the largest step so far.
    var buffers: DecodeBuffers?
    /// The logits of the last step, [rows, V] for the most rows so far: reused, so a decode step of a served batch
    /// (32 rows × a 49152-token vocabulary: 6.3 MB) does not fault in and zero fresh pages every token.
    var logitsBuffer: Tensor?

    /// Allocates a cache for `slots` sequences of up to `capacity` tokens each.
    public init(config c: ModelConfig, slots: Int, capacity: Int, backend: Backend) throws {
        guard slots > 0, capacity > 0 else {
            throw ModelError.badBatch("a KV cache needs at least one slot and one position (got \(slots) slots × \(capacity))")
        }
        let shape = [slots, capacity, c.kvHeadCount, c.headDim]
        keys = try (0..<c.layerCount).map { _ in try backend.empty(shape, dtype: .f32) }
        values = try (0..<c.layerCount).map { _ in try backend.empty(shape, dtype: .f32) }
        slotCount = slots
        self.capacity = capacity
        lengths = Array(repeating: 0, count: slots)
    }

    /// Bytes the cache occupies.
    public var byteCount: Int { (keys + values).reduce(0) { $0 + $1.byteCount } }

    /// Scratch for a step of `n` tokens (views of the largest buffers allocated so far).
    func buffers(tokens n: Int, config: ModelConfig, backend: Backend) throws -> DecodeBuffers {
        if let buffers, buffers.tokens >= n { return buffers.prefix(n) }
        buffers = nil
        let fresh = try DecodeBuffers(config: config, tokens: n, backend: backend)
        buffers = fresh
        return fresh
    }

    /// Logits [rows, vocab] (f32): a view of the cache's logits buffer, grown when a step wants more rows.
    func logits(rows: Int, vocab: Int, backend: Backend) throws -> Tensor {
        if let logitsBuffer, logitsBuffer.rowCount >= rows, logitsBuffer.rowLength == vocab { return logitsBuffer.rows(0..<rows) }
        let fresh = try backend.empty([rows, vocab], dtype: .f32)  // [R, V]
        logitsBuffer = fresh
        return fresh
    }

    /// Frees the scratch buffers (a long prompt's prefill leaves large ones behind).
    public func releaseScratch() { buffers = nil; logitsBuffer = nil }

    /// Forgets slot `slot`'s tokens (the memory is reused).
    public func reset(slot: Int) { lengths[slot] = 0 }

    /// Forgets every slot's tokens.
    public func resetAll() { lengths = Array(repeating: 0, count: slotCount) }

    /// Keeps only the first `length` tokens of slot `slot` (e.g. a chat history prefix).
    public func truncate(slot: Int, to length: Int) { lengths[slot] = min(lengths[slot], max(0, length)) }
}
