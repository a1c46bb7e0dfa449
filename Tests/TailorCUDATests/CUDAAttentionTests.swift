@testable import TailorCUDA
import TailorTensor
import TailorTestSupport
import XCTest

/// The attention kernels (forward, backward, KV-cache decode) on the host emulator against the
/// CPU reference kernels, on awkward shapes: token counts that are not multiples of the tiles,
/// several packed sequences (some of length 1), grouped-query heads with groups of 2 and 3, and a
/// head dimension from each tiling class (16, 30, 64, 128, 200).
final class CUDAAttentionTests: XCTestCase {
    static let rtol: Float = 1e-4, atol: Float = 1e-5

    struct Shape: CustomStringConvertible {
        let lengths: [Int]
        let heads: Int, kvHeads: Int, headDim: Int
        var tokens: Int { lengths.reduce(0, +) }
        var seqStart: [Int32] {
            var starts: [Int32] = [], first = 0
            for length in lengths {
                starts += [Int32](repeating: Int32(first), count: length)
                first += length
            }
            return starts
        }
        var scale: Float { 1 / Float(headDim).squareRoot() }
        var description: String { "sequences \(lengths), heads \(heads)/\(kvHeads), headDim \(headDim)" }
    }

    /// Key tiles are 32 keys for head dims up to 128 and 16 above, query tiles 16 rows: the long
    /// sequences make the online softmax merge several key tiles.
    static let shapes: [Shape] = [
        Shape(lengths: [3, 35, 2], heads: 4, kvHeads: 2, headDim: 16),
        Shape(lengths: [5, 17, 1, 10], heads: 4, kvHeads: 2, headDim: 16),
        Shape(lengths: [36, 1], heads: 3, kvHeads: 1, headDim: 64),
        Shape(lengths: [1, 1, 19], heads: 2, kvHeads: 2, headDim: 30),
        Shape(lengths: [34, 2], heads: 2, kvHeads: 1, headDim: 128),
        Shape(lengths: [2, 20, 1], heads: 3, kvHeads: 1, headDim: 200),
    ]

    struct Inputs {
        let q: [Float], k: [Float], v: [Float], dOut: [Float]
        init(_ shape: Shape, seed: UInt64) {
            var rng = SeededRandom(seed: seed)
            q = rng.floats(shape.tokens * shape.heads * shape.headDim, scale: 2)
            k = rng.floats(shape.tokens * shape.kvHeads * shape.headDim, scale: 2)
            v = rng.floats(shape.tokens * shape.kvHeads * shape.headDim)
            dOut = rng.floats(shape.tokens * shape.heads * shape.headDim)
        }
    }

    func forward(_ b: Backend, _ shape: Shape, _ x: Inputs) throws -> (out: [Float], lse: [Float]) {
        let (n, hq, hkv, d) = (shape.tokens, shape.heads, shape.kvHeads, shape.headDim)
        let out = try b.empty([n, hq, d], dtype: .f32), lse = try b.empty([n * hq], dtype: .f32)
        try b.attentionForward(q: b.upload(x.q, shape: [n, hq, d], dtype: .f32), k: b.upload(x.k, shape: [n, hkv, d], dtype: .f32),
                               v: b.upload(x.v, shape: [n, hkv, d], dtype: .f32), seqStart: b.upload(shape.seqStart, shape: [n]),
                               scale: shape.scale, into: out, lse: lse)
        return (try b.download(out), try b.download(lse))
    }

    func backward(_ b: Backend, _ shape: Shape, _ x: Inputs, out: [Float], lse: [Float]) throws -> (dq: [Float], dk: [Float], dv: [Float]) {
        let (n, hq, hkv, d) = (shape.tokens, shape.heads, shape.kvHeads, shape.headDim)
        let dq = try b.empty([n, hq, d], dtype: .f32), dk = try b.empty([n, hkv, d], dtype: .f32), dv = try b.empty([n, hkv, d], dtype: .f32)
        try b.attentionBackward(dOut: b.upload(x.dOut, shape: [n, hq, d], dtype: .f32), q: b.upload(x.q, shape: [n, hq, d], dtype: .f32),
                                k: b.upload(x.k, shape: [n, hkv, d], dtype: .f32), v: b.upload(x.v, shape: [n, hkv, d], dtype: .f32),
                                out: b.upload(out, shape: [n, hq, d], dtype: .f32), lse: b.upload(lse, shape: [n * hq], dtype: .f32),
                                seqStart: b.upload(shape.seqStart, shape: [n]), scale: shape.scale, dq: dq, dk: dk, dv: dv)
        return (try b.download(dq), try b.download(dk), try b.download(dv))
    }

    func testForwardMatchesTheReference() throws {
        let backends = try EmulatedBackends()
        for (index, shape) in Self.shapes.enumerated() {
            let inputs = Inputs(shape, seed: 100 + UInt64(index))
            let actual = try forward(backends.cuda, shape, inputs), expected = try forward(backends.reference, shape, inputs)
            assertClose(actual.out, expected.out, rtol: Self.rtol, atol: Self.atol, "out, \(shape)")
            assertClose(actual.lse, expected.lse, rtol: Self.rtol, atol: Self.atol, "lse, \(shape)")
        }
    }

    func testBackwardMatchesTheReference() throws {
        let backends = try EmulatedBackends()
        for (index, shape) in Self.shapes.enumerated() {
            let inputs = Inputs(shape, seed: 200 + UInt64(index))
            let (out, lse) = try forward(backends.reference, shape, inputs)
            let actual = try backward(backends.cuda, shape, inputs, out: out, lse: lse)
            let expected = try backward(backends.reference, shape, inputs, out: out, lse: lse)
            assertClose(actual.dq, expected.dq, rtol: Self.rtol, atol: Self.atol, "dq, \(shape)")
            assertClose(actual.dk, expected.dk, rtol: Self.rtol, atol: Self.atol, "dk, \(shape)")
            assertClose(actual.dv, expected.dv, rtol: Self.rtol, atol: Self.atol, "dv, \(shape)")
        }
    }

    func testBackwardOverwritesItsOutputs() throws {
        let backends = try EmulatedBackends()
        let shape = Self.shapes[0], inputs = Inputs(shape, seed: 7)
        let (out, lse) = try forward(backends.reference, shape, inputs)
        let expected = try backward(backends.reference, shape, inputs, out: out, lse: lse)
        // Gradients into buffers that already hold values: the result must not depend on them.
        let b = backends.cuda
        let (n, hq, hkv, d) = (shape.tokens, shape.heads, shape.kvHeads, shape.headDim)
        let dq = try b.upload([Float](repeating: 5, count: n * hq * d), shape: [n, hq, d], dtype: .f32)
        let dk = try b.upload([Float](repeating: -3, count: n * hkv * d), shape: [n, hkv, d], dtype: .f32)
        let dv = try b.upload([Float](repeating: 9, count: n * hkv * d), shape: [n, hkv, d], dtype: .f32)
        try b.attentionBackward(dOut: b.upload(inputs.dOut, shape: [n, hq, d], dtype: .f32), q: b.upload(inputs.q, shape: [n, hq, d], dtype: .f32),
                                k: b.upload(inputs.k, shape: [n, hkv, d], dtype: .f32), v: b.upload(inputs.v, shape: [n, hkv, d], dtype: .f32),
                                out: b.upload(out, shape: [n, hq, d], dtype: .f32), lse: b.upload(lse, shape: [n * hq], dtype: .f32),
                                seqStart: b.upload(shape.seqStart, shape: [n]), scale: shape.scale, dq: dq, dk: dk, dv: dv)
        assertClose(try b.download(dq), expected.dq, rtol: Self.rtol, atol: Self.atol, "dq")
        assertClose(try b.download(dk), expected.dk, rtol: Self.rtol, atol: Self.atol, "dk")
        assertClose(try b.download(dv), expected.dv, rtol: Self.rtol, atol: Self.atol, "dv")
    }

    // MARK: Decode

    struct Cache {
        var slotCount = 3, capacity = 37
        var slots: [Int32] = [2, 0, 2, 1, 0]
        var lengths: [Int32] = [37, 1, 20, 33, 5]
        let heads: Int, kvHeads: Int, headDim: Int
        var rows: Int { slots.count }
        var description: String { "capacity \(capacity), lengths \(lengths), heads \(heads)/\(kvHeads), headDim \(headDim)" }
    }

    func decode(_ b: Backend, _ cache: Cache, slots: [Int32]? = nil, lengths: [Int32]? = nil, splits: Int? = nil,
                seed: UInt64) throws -> (backend: Backend, out: Tensor) {
        var rng = SeededRandom(seed: seed)
        let (n, hq, hkv, d) = (cache.rows, cache.heads, cache.kvHeads, cache.headDim)
        let cacheShape = [cache.slotCount, cache.capacity, hkv, d]
        let q = try b.upload(rng.floats(n * hq * d, scale: 2), shape: [n, hq, d], dtype: .f32)
        let kCache = try b.upload(rng.floats(cacheShape.reduce(1, *), scale: 2), shape: cacheShape, dtype: .f32)
        let vCache = try b.upload(rng.floats(cacheShape.reduce(1, *)), shape: cacheShape, dtype: .f32)
        let out = try b.empty([n, hq, d], dtype: .f32)
        let (pSlots, pLengths) = (try b.upload(slots ?? cache.slots, shape: [n]), try b.upload(lengths ?? cache.lengths, shape: [n]))
        let scale = 1 / Float(d).squareRoot()
        if let cuda = b as? CUDABackend, let splits {
            try cuda.attentionDecode(q: q, kCache: kCache, vCache: vCache, slots: pSlots, lengths: pLengths, scale: scale, into: out, splits: splits)
        } else {
            try b.attentionDecode(q: q, kCache: kCache, vCache: vCache, slots: pSlots, lengths: pLengths, scale: scale, into: out)
        }
        return (b, out)
    }

    func testDecodeMatchesTheReference() throws {
        let backends = try EmulatedBackends()
        // A warp takes 32 positions, the block 128 at a time: 300 positions make each warp merge several tiles.
        let caches = [Cache(heads: 4, kvHeads: 2, headDim: 16), Cache(heads: 3, kvHeads: 1, headDim: 64),
                      Cache(heads: 2, kvHeads: 2, headDim: 130),
                      Cache(slotCount: 2, capacity: 300, slots: [1, 0, 1], lengths: [300, 161, 7], heads: 2, kvHeads: 1, headDim: 64)]
        for (index, cache) in caches.enumerated() {
            let seed = 300 + UInt64(index)
            let expected = try backends.reference.download(decode(backends.reference, cache, seed: seed).out)
            // nil: the backend's choice (one split for 37 positions, three of 128 for 300); 2 and 3 merge
            // partial softmaxes, and with 3 splits of 32 of the 37 positions the last is empty for every row.
            for splits in [nil, 1, 2, 3] as [Int?] {
                let actual = try backends.cuda.download(decode(backends.cuda, cache, splits: splits, seed: seed).out)
                assertClose(actual, expected, rtol: Self.rtol, atol: Self.atol, "\(cache.description), splits \(String(describing: splits))")
            }
        }
    }

    func testDecodeReportsABadSlotAndSkipsItsRow() throws {
        let backends = try EmulatedBackends()
        let cache = Cache(heads: 2, kvHeads: 1, headDim: 16)
        let d = cache.headDim * cache.heads
        var badSlots = cache.slots
        badSlots[1] = 3  // slotCount is 3
        let expected = try backends.reference.download(decode(backends.reference, cache, seed: 9).out)
        for splits in [1, 2] {
            let (b, out) = try decode(backends.cuda, cache, slots: badSlots, splits: splits, seed: 9)
            XCTAssertThrowsError(try b.download(out)) { error in
                let text = "\(error)"
                XCTAssertTrue(text.contains("slots[1]") && text.contains("attentionDecode") && text.contains("0..<3"), text)
            }
            // The error is reported once; the other rows are computed and the bad one is zeros.
            let values = try b.download(out)
            XCTAssertEqual(Array(values[d..<2 * d]), [Float](repeating: 0, count: d))
            var expectedRows = expected
            expectedRows.replaceSubrange(d..<2 * d, with: [Float](repeating: 0, count: d))
            assertClose(values, expectedRows, rtol: Self.rtol, atol: Self.atol, "splits \(splits)")
        }
    }

    func testDecodeReportsABadLength() throws {
        let backends = try EmulatedBackends()
        let cache = Cache(heads: 2, kvHeads: 1, headDim: 16)
        for bad: Int32 in [0, 38] {
            var lengths = cache.lengths
            lengths[2] = bad
            let (b, out) = try decode(backends.cuda, cache, lengths: lengths, seed: 10)
            XCTAssertThrowsError(try b.download(out)) { error in
                let text = "\(error)"
                XCTAssertTrue(text.contains("lengths[2] = \(bad)") && text.contains("1...37"), text)
            }
        }
    }

    // MARK: Memory

    func testSharedMemoryDoesNotGrowWithTheTokenCount() throws {
        for tiling in AttentionTiling.all {
            for headDim in [1, 16, 30, 64, 100, 128, 200, 256] where headDim <= tiling.maxHeadDim {
                XCTAssertLessThanOrEqual(tiling.sharedBytes(headDim: headDim), 48 * 1024, "\(tiling.entry), headDim \(headDim)")
            }
        }
        let backends = try EmulatedBackends()
        let recorder = RecordingDevice(backends.device)
        var launches: [[String: Int]] = []
        for lengths in [[9], [40], [3, 30, 7]] {
            let shape = Shape(lengths: lengths, heads: 2, kvHeads: 1, headDim: 64)
            let x = Inputs(shape, seed: 11)
            let (n, hq, hkv, d) = (shape.tokens, shape.heads, shape.kvHeads, shape.headDim)
            // A fresh backend (and allocator cache): every allocation the ops make reaches the device.
            let b = try CUDABackend(device: recorder)
            let (q, k, v) = (try b.upload(x.q, shape: [n, hq, d], dtype: .f32), try b.upload(x.k, shape: [n, hkv, d], dtype: .f32),
                             try b.upload(x.v, shape: [n, hkv, d], dtype: .f32))
            let (dOut, seqStart) = (try b.upload(x.dOut, shape: [n, hq, d], dtype: .f32), try b.upload(shape.seqStart, shape: [n]))
            let (out, lse, dq) = (try b.empty([n, hq, d], dtype: .f32), try b.empty([n * hq], dtype: .f32), try b.empty([n, hq, d], dtype: .f32))
            let (dk, dv) = (try b.empty([n, hkv, d], dtype: .f32), try b.empty([n, hkv, d], dtype: .f32))
            recorder.reset()
            try b.attentionForward(q: q, k: k, v: v, seqStart: seqStart, scale: shape.scale, into: out, lse: lse)
            try b.attentionBackward(dOut: dOut, q: q, k: k, v: v, out: out, lse: lse, seqStart: seqStart, scale: shape.scale,
                                    dq: dq, dk: dk, dv: dv)
            try b.synchronize()
            // The only device memory the ops take is the backward's D scratch, [N, Hq] floats: nothing [T, T].
            XCTAssertEqual(recorder.allocations, [DeviceAllocator.roundedSize(n * hq * 4)], "\(shape)")
            launches.append(recorder.launches.reduce(into: [:]) { $0[$1.kernel] = $1.sharedBytes })
        }
        XCTAssertEqual(Set(launches[0].keys), ["tailor_attention_forward_d64_f32", "tailor_attention_backward_delta_f32",
                                               "tailor_attention_backward_key_value_d64_f32", "tailor_attention_backward_query_d64_f32"])
        XCTAssertEqual(launches[0], launches[1])
        XCTAssertEqual(launches[0], launches[2])
    }

    func testHeadsWiderThanTheKernelsAreRejected() throws {
        let backends = try EmulatedBackends()
        let b = backends.cuda
        let (n, d) = (3, 260)
        let q = try b.zeros([n, 1, d], dtype: .f32), out = try b.empty([n, 1, d], dtype: .f32), lse = try b.empty([n], dtype: .f32)
        XCTAssertThrowsError(try b.attentionForward(q: q, k: q, v: q, seqStart: b.upload([0, 0, 0], shape: [n]), scale: 1, into: out, lse: lse)) {
            XCTAssertTrue("\($0)".contains("head dim at most 256"), "\($0)")
        }
    }
}

/// The emulator, recording each launch's shared memory and each allocation's size.
final class RecordingDevice: CUDADevice, @unchecked Sendable {
    let base: EmulatedDevice
    private let lock = NSLock()
    private(set) var launches: [(kernel: String, sharedBytes: Int)] = []
    private(set) var allocations: [Int] = []

    init(_ base: EmulatedDevice) { self.base = base }

    var name: String { base.name }
    var multiprocessorCount: Int { base.multiprocessorCount }

    func reset() { lock.withLock { launches.removeAll(); allocations.removeAll() } }

    func allocate(byteCount: Int) throws -> UInt64 {
        lock.withLock { allocations.append(byteCount) }
        return try base.allocate(byteCount: byteCount)
    }

    func free(_ address: UInt64) { base.free(address) }
    func copyToDevice(_ destination: UInt64, from source: UnsafeRawPointer, byteCount: Int) throws {
        try base.copyToDevice(destination, from: source, byteCount: byteCount)
    }
    func copyToHost(_ destination: UnsafeMutableRawPointer, from source: UInt64, byteCount: Int) throws {
        try base.copyToHost(destination, from: source, byteCount: byteCount)
    }
    func copyOnDevice(_ destination: UInt64, from source: UInt64, byteCount: Int) throws {
        try base.copyOnDevice(destination, from: source, byteCount: byteCount)
    }
    func setBytes(_ destination: UInt64, to value: UInt8, byteCount: Int) throws { try base.setBytes(destination, to: value, byteCount: byteCount) }

    func launch(_ kernel: String, grid: LaunchSize, block: LaunchSize, sharedBytes: Int, _ arguments: [KernelArgument]) throws {
        lock.withLock { launches.append((kernel, sharedBytes)) }
        try base.launch(kernel, grid: grid, block: block, sharedBytes: sharedBytes, arguments)
    }

    func gemm(_ problem: GemmProblem) throws { try base.gemm(problem) }
    func synchronize() throws { try base.synchronize() }
    func memoryInfo() throws -> (free: Int, total: Int) { try base.memoryInfo() }
}
