/// A packed row: several samples laid end to end, each attending only to itself.
public struct PackedRow: Sendable, Hashable {
    /// The samples in the row, in order.
    public var samples: [EncodedSample]

    public var tokenCount: Int { samples.reduce(0) { $0 + $1.count } }
    /// (ids, labels) per sample: what `TailorModels.TokenBatch(sequences:)` takes.
    public var sequences: [(ids: [Int32], labels: [Int32])] { samples.map(\.sequence) }
    /// Token ids [N], samples end to end.
    public var inputIds: [Int32] { samples.flatMap(\.inputIds) }
    /// Labels [N], unshifted.
    public var labels: [Int32] { samples.flatMap(\.labels) }
    /// Position ids [N], restarting at 0 for each sample.
    public var positionIds: [Int32] { samples.flatMap { s in (0..<Int32(s.count)).map { $0 } } }  // allowed: a packed sample's length and index, below the packing length (cutoff_len)
    /// Sequence ids [N]: the index of each token's sample in the row (0, 0, ..., 1, 1, ...).
    public var sequenceIds: [Int32] {
        samples.enumerated().flatMap { i, s in Array(repeating: Int32(i), count: s.count) }  // allowed: a packed sample's length and index, below the packing length (cutoff_len)
    }
}

/// Packs samples into rows of at most `maxLength` tokens with best-fit decreasing: samples are
/// taken longest first, and each goes into the open row with the least room left that still
/// holds it. Deterministic: ties keep input order.
public struct Packer: Sendable {
    public var maxLength: Int

    public init(maxLength: Int) { self.maxLength = maxLength }

    /// Rows of samples. A sample longer than `maxLength` gets a row of its own (truncate first to avoid it).
    public func pack(_ samples: [EncodedSample]) -> [PackedRow] {
        let order = samples.indices.sorted { samples[$0].count != samples[$1].count ? samples[$0].count > samples[$1].count : $0 < $1 }
        var rows: [[Int]] = []
        var room: [Int] = []
        // Rows indexed by remaining room, for O(log n) best-fit lookups.
        var byRoom = SortedRooms()
        for i in order {
            let n = samples[i].count
            if let r = byRoom.smallest(atLeast: n) {
                byRoom.remove(room: room[r], row: r)
                rows[r].append(i)
                room[r] -= n
                if room[r] > 0 { byRoom.insert(room: room[r], row: r) }
            } else {
                rows.append([i])
                room.append(max(0, maxLength - n))
                if room[room.count - 1] > 0 { byRoom.insert(room: room[room.count - 1], row: rows.count - 1) }
            }
        }
        return rows.map { PackedRow(samples: $0.map { samples[$0] }) }
    }
}

/// (room, row) pairs kept sorted; linear inserts are fine for the row counts packing sees.
struct SortedRooms {
    private var items: [(room: Int, row: Int)] = []

    private func lowerBound(_ room: Int, _ row: Int) -> Int {
        var lo = 0, hi = items.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if items[mid].room < room || (items[mid].room == room && items[mid].row < row) { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }

    mutating func insert(room: Int, row: Int) { items.insert((room, row), at: lowerBound(room, row)) }

    mutating func remove(room: Int, row: Int) {
        let i = lowerBound(room, row)
        if i < items.count, items[i].room == room, items[i].row == row { items.remove(at: i) }
    }

    /// The row with the least room that is at least `n` (the earliest row among equals).
    func smallest(atLeast n: Int) -> Int? {
        let i = lowerBound(n, Int.min)
        return i < items.count ? items[i].row : nil
    }
}

/// A padded batch (no packing): every sample padded on the right to the longest in the batch.
public struct PaddedBatch: Sendable, Hashable {
    /// [B, T] row-major.
    public var inputIds: [Int32]
    /// [B, T]; padding is -100 by position, never by token id, so EOS stays trained when pad == eos.
    public var labels: [Int32]
    /// [B, T]; 1 for tokens, 0 for padding.
    public var attentionMask: [Int32]
    public var batchSize: Int
    public var length: Int

    /// Pads `samples` to the longest (rounded up to `padToMultipleOf`) with `padTokenId`.
    public init(samples: [EncodedSample], padTokenId: Int32, padToMultipleOf: Int = 1) {
        var t = samples.map(\.count).max() ?? 0
        if padToMultipleOf > 1 { t = (t + padToMultipleOf - 1) / padToMultipleOf * padToMultipleOf }
        batchSize = samples.count
        length = t
        inputIds = []; labels = []; attentionMask = []
        inputIds.reserveCapacity(samples.count * t)
        for s in samples {
            let pad = t - s.count
            inputIds += s.inputIds + Array(repeating: padTokenId, count: pad)
            labels += s.labels + Array(repeating: EncodedSample.ignoreIndex, count: pad)
            attentionMask += Array(repeating: 1, count: s.count) + Array(repeating: 0, count: pad)
        }
    }
}
