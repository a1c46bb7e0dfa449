import TailorTensor

/// The order of training rows in an epoch: a seeded permutation, or transformers'
/// LengthGroupedSampler built on one. Tailor draws its permutations with SplitMix64, not torch's
/// randperm, so orders equal transformers' in structure, not index for index.
public enum DataOrder {
    /// A permutation of 0..<count from (seed, epoch): a Fisher-Yates shuffle driven by SplitMix64.
    public static func permutation(count: Int, seed: UInt64, epoch: Int) -> [Int] {
        var order = Array(0..<count)
        var generator = SplitMix64(state: seed &+ UInt64(epoch) &* 0x9E37_79B9_7F4A_7C15)  // allowed: epoch is a non-negative count
        for i in stride(from: count - 1, to: 0, by: -1) {
            order.swapAt(i, Int(generator.next() % UInt64(i + 1)))  // allowed: the remainder is below i + 1, an Int index
        }
        return order
    }

    /// Mega-batches of `megaBatchMultiplier(count:batchSize:)` × `batchSize` rows as
    /// transformers' get_length_grouped_indices makes them (world size 1).
    public static func megaBatchMultiplier(count: Int, batchSize: Int) -> Int {
        max(1, min(count / (batchSize * 4), 50))  // 50, or fewer so that there are about 4 mega-batches
    }

    /// transformers' get_length_grouped_indices: `permutation` is cut into mega-batches, each is
    /// sorted by length, longest first (ties keep their permuted order, as Python's stable sort
    /// does), and the longest row of all is swapped to the very front so a run that does not fit
    /// in memory fails on its first step. `lengths[i]` is row i's token count.
    public static func lengthGrouped(permutation: [Int], lengths: [Int], batchSize: Int) -> [Int] {
        let megaBatchSize = megaBatchMultiplier(count: permutation.count, batchSize: batchSize) * batchSize
        var megaBatches: [[Int]] = stride(from: 0, to: permutation.count, by: megaBatchSize).map { start in
            let members = permutation[start..<min(start + megaBatchSize, permutation.count)]
            return members.enumerated().sorted { a, b in
                lengths[a.element] != lengths[b.element] ? lengths[a.element] > lengths[b.element] : a.offset < b.offset
            }.map(\.element)
        }
        guard !megaBatches.isEmpty else { return [] }
        // Each mega-batch starts with its longest row; the first mega-batch holding the longest gives it up.
        var longest = 0
        for index in megaBatches.indices where lengths[megaBatches[index][0]] > lengths[megaBatches[longest][0]] {
            longest = index
        }
        let first = megaBatches[0][0]
        megaBatches[0][0] = megaBatches[longest][0]
        megaBatches[longest][0] = first
        return megaBatches.flatMap { $0 }
    }
}
