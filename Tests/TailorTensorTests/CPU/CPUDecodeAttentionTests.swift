@testable import TailorTensor
import TailorTestSupport
import XCTest

/// attentionDecode (queries over a KV cache): the fast kernel against the reference one, and the
/// reference against causal attentionForward on the same tokens (decoding is the same attention,
/// read from a cache).
final class CPUDecodeAttentionTests: XCTestCase {
    func testDecodeOverCacheEqualsCausalAttention() throws {
        let h = try KernelHarness()
        var rng = SeededRandom(seed: 11)
        let (heads, kvHeads, d, length) = (6, 2, 16, 13)
        let q = rng.floats(length * heads * d), k = rng.floats(length * kvHeads * d), v = rng.floats(length * kvHeads * d)
        // Causal attention over one sequence.
        let out = try h.reference.empty([length, heads, d], dtype: .f32), lse = try h.reference.empty([length, heads], dtype: .f32)
        try h.reference.attentionForward(q: h.reference.f32(q, [length, heads, d]), k: h.reference.f32(k, [length, kvHeads, d]),
                                         v: h.reference.f32(v, [length, kvHeads, d]),
                                         seqStart: h.reference.i32([Int32](repeating: 0, count: length)), scale: 0.25, into: out, lse: lse)
        let expected = try h.reference.values(out)
        // The same keys and values in slot 1 of a 3-slot cache of capacity 16 (other slots random).
        let capacity = 16
        for backend in [h.reference, h.fast] {
            var kc = rng.floats(3 * capacity * kvHeads * d), vc = rng.floats(3 * capacity * kvHeads * d)
            for i in 0..<(length * kvHeads * d) { kc[capacity * kvHeads * d + i] = k[i]; vc[capacity * kvHeads * d + i] = v[i] }
            let decoded = try backend.empty([length, heads, d], dtype: .f32)
            try backend.attentionDecode(q: backend.f32(q, [length, heads, d]), kCache: backend.f32(kc, [3, capacity, kvHeads, d]),
                                        vCache: backend.f32(vc, [3, capacity, kvHeads, d]),
                                        slots: backend.i32([Int32](repeating: 1, count: length)),
                                        lengths: backend.i32((1...length).map { Int32($0) }), scale: 0.25, into: decoded)
            assertClose(try backend.values(decoded), expected, rtol: 1e-5, atol: 1e-6, backend.name)
        }
    }

    func testFastMatchesReferenceAcrossSlotsAndLengths() throws {
        let h = try KernelHarness()
        var rng = SeededRandom(seed: 12)
        let (heads, kvHeads, d, slots, capacity) = (8, 2, 20, 4, 37)
        let q = rng.floats(5 * heads * d), kc = rng.floats(slots * capacity * kvHeads * d), vc = rng.floats(slots * capacity * kvHeads * d)
        let slotIds: [Int32] = [3, 0, 2, 0, 1], lengths: [Int32] = [37, 1, 20, 5, 9]
        var results: [[Float]] = []
        for backend in [h.reference, h.fast] {
            let out = try backend.empty([5, heads, d], dtype: .f32)
            try backend.attentionDecode(q: backend.f32(q, [5, heads, d]), kCache: backend.f32(kc, [slots, capacity, kvHeads, d]),
                                        vCache: backend.f32(vc, [slots, capacity, kvHeads, d]), slots: backend.i32(slotIds),
                                        lengths: backend.i32(lengths), scale: 0.2, into: out)
            results.append(try backend.values(out))
        }
        assertClose(results[1], results[0], rtol: 1e-5, atol: 1e-6)
    }

    /// Every copy of the products this CPU can run (AVX-512, AVX2 + FMA, portable SIMD) against the
    /// reference kernel, on head dims and group sizes of real models (SmolLM2: 64 × 3, Qwen2.5-0.5B:
    /// 64 × 7, Llama 3: 128 × 4) and ones the C kernels hand back to the portable path (head dim 20,
    /// a group of 9).
    func testEveryInstructionSetPathMatchesTheReference() throws {
        var rng = SeededRandom(seed: 13)
        let paths = CPUFast.DecodeAttentionPath.allCases.filter(\.isAvailable)
        XCTAssertTrue(paths.contains(.portable))
        for (kvHeads, group, d) in [(3, 3, 64), (2, 7, 64), (2, 4, 128), (1, 8, 16), (2, 2, 24), (1, 3, 20), (1, 9, 32)] {
            let heads = kvHeads * group, (tokens, slots, capacity) = (4, 3, 41)
            let q = rng.floats(tokens * heads * d)
            let kc = rng.floats(slots * capacity * kvHeads * d), vc = rng.floats(slots * capacity * kvHeads * d)
            let slotIds: [Int32] = [2, 0, 2, 1], lengths: [Int32] = [41, 1, 17, 8]
            var expected = [Float](repeating: 0, count: tokens * heads * d)
            CPUReference.attentionDecode(q: q, kCache: kc, vCache: vc, slots: slotIds, lengths: lengths, scale: 0.125,
                                         out: &expected, tokens: tokens, heads: heads, kvHeads: kvHeads, headDim: d,
                                         capacity: capacity)
            for path in paths {
                var out = [Float](repeating: .nan, count: tokens * heads * d)
                CPUFast.attentionDecode(q: q, kCache: kc, vCache: vc, slots: slotIds, lengths: lengths, scale: 0.125,
                                        out: &out, tokens: tokens,
                                        shape: CPUFast.AttentionShape(heads: heads, kvHeads: kvHeads, headDim: d),
                                        capacity: capacity, path: path)
                assertClose(out, expected, rtol: 1e-5, atol: 1e-6, "\(path) heads \(heads) kv \(kvHeads) d \(d)")
            }
        }
    }

    func testBadSlotOrLengthIsAnError() throws {
        let backend = try CPUBackend()
        let q = try backend.zeros([1, 2, 4], dtype: .f32), cache = try backend.zeros([2, 3, 1, 4], dtype: .f32)
        let out = try backend.empty([1, 2, 4], dtype: .f32)
        XCTAssertThrowsError(try backend.attentionDecode(q: q, kCache: cache, vCache: cache, slots: backend.i32([2]),
                                                         lengths: backend.i32([1]), scale: 1, into: out)) { XCTAssertTrue("\($0)".contains("slots[0] = 2")) }
        XCTAssertThrowsError(try backend.attentionDecode(q: q, kCache: cache, vCache: cache, slots: backend.i32([0]),
                                                         lengths: backend.i32([4]), scale: 1, into: out)) { XCTAssertTrue("\($0)".contains("lengths[0] = 4")) }
    }
}
