@testable import TailorTensor
import TailorTestSupport
import XCTest

/// Frozen weights in llama.cpp's blocks (`DType.q4_0` ... `.q6_K`): what the CPU backend reads from them
/// (download, embedding lookup, products, decoded a block of rows at a time, in fp32 and with bf16 products)
/// equals the same operations on the decoded values. The decoding itself is checked bit for bit against the
/// gguf Python package by TailorFormatsTests' GGMLDequantizerTests, which reads through the same kernels.
final class CPUGGMLBlocksTests: XCTestCase {
    /// Byte offsets of each type's f16 scales (d, and dmin / m where it has one), set to small finite values in
    /// otherwise random blocks: every other bit pattern of a block is a valid one.
    static let scaleOffsets: [GGMLBlockType: [Int]] = [
        .q4_0: [0], .q4_1: [0, 2], .q5_0: [0], .q5_1: [0, 2], .q8_0: [0],
        .q2_K: [80, 82], .q3_K: [108], .q4_K: [0, 2], .q5_K: [0, 2], .q6_K: [208],
    ]

    /// `rows` rows of `rowLength` values of random `block` data, of magnitude ≲ 1 (the K-quants' 6-bit sub-scales
    /// multiply their f16 scales by up to 63).
    static func randomBlocks(_ block: GGMLBlockType, rows: Int, rowLength: Int, rng: inout SeededRandom) -> [UInt8] {
        let blocks = rows * rowLength / block.blockSize, scale: Float = block.blockSize == 256 ? 0.0003 : 0.02
        var bytes = (0..<(blocks * block.typeSize)).map { _ in UInt8.random(in: 0...255, using: &rng) }
        for b in 0..<blocks {
            for offset in scaleOffsets[block] ?? [] {
                let bits = HalfPrecision.floatToF16(Float.random(in: -scale..<scale, using: &rng))
                bytes[b * block.typeSize + offset] = UInt8(bits & 0xFF)
                bytes[b * block.typeSize + offset + 1] = UInt8(bits >> 8)
            }
        }
        return bytes
    }

    static func decoded(_ bytes: [UInt8], _ block: GGMLBlockType) -> [Float] {
        let blocks = bytes.count / block.typeSize
        return [Float](unsafeUninitializedCapacity: blocks * block.blockSize) { out, initialized in
            bytes.withUnsafeBufferPointer { block.decode($0.baseAddress!, blocks: blocks, into: out.baseAddress!) }
            initialized = blocks * block.blockSize
        }
    }

    func testDownloadAndLookupDecodeEveryType() throws {
        var rng = SeededRandom(seed: 5)
        for kernels in [CPUBackend.Kernels.fast, .reference] {
            let backend = try CPUBackend(kernels: kernels)
            for block in GGMLBlockType.allCases {
                let (rows, rowLength) = (7, 2 * block.blockSize)
                let bytes = Self.randomBlocks(block, rows: rows, rowLength: rowLength, rng: &rng)
                let tensor = try bytes.withUnsafeBytes { try backend.upload(bytes: $0, shape: [rows, rowLength], dtype: DType(block), owner: nil) }
                XCTAssertEqual(tensor.dtype.ggmlBlockType, block)
                XCTAssertEqual(tensor.byteCount, bytes.count, "\(block): the bytes it holds, not elements × a dtype size")
                let values = Self.decoded(bytes, block)
                XCTAssertTrue(values.allSatisfy(\.isFinite), "\(block)")
                XCTAssertEqual(try backend.download(tensor), values, "\(block) \(kernels)")
                let ids: [Int32] = [6, 0, 3, 3]
                let out = try backend.empty([ids.count, rowLength], dtype: .f32)
                try backend.embeddingForward(ids: try backend.upload(ids, shape: [ids.count]), table: tensor, into: out)
                let expected = ids.flatMap { values[Int($0) * rowLength ..< (Int($0) + 1) * rowLength] }
                XCTAssertEqual(try backend.download(out), expected, "\(block) \(kernels): embedding rows")
            }
        }
    }

    /// A block-quantized `b` of `shape` as each backend uploads it, and its decoded values.
    typealias Operand = (upload: (CPUBackend) throws -> Tensor, values: [Float])

    /// Every transpose, beta 0 and 1, blocks of rows that do not divide the rows, fp32 and bf16 products.
    func checkProducts(_ label: String, k: Int, n: Int, _ make: (_ shape: [Int]) throws -> Operand) throws {
        let h = try KernelHarness()
        var rng = SeededRandom(seed: 9)
        let half = try CPUBackend(kernels: .fast, matmul: .halfInputs)
        let roundedReference = try CPUBackend(kernels: .reference, matmul: .halfInputs)
        let m = 9
        for (transposeA, transposeB) in [(false, false), (false, true), (true, false), (true, true)] {
            let bShape = transposeB ? [n, k] : [k, n]
            let (upload, values) = try make(bShape)
            for beta in [Float(0), 1] {
                let a = rng.floats(m * k), c0 = rng.floats(m * n)
                let aShape = transposeA ? [k, m] : [m, k]
                let where_ = "\(label) transposeA \(transposeA) transposeB \(transposeB) beta \(beta)"
                // fp32: the fast path decodes in blocks of rows; the reference decodes all of it.
                let expected = try h.reference.f32(c0, [m, n])
                try h.reference.gemm(h.reference.f32(a, aShape), transposeA: transposeA, h.reference.f32(values, bShape),
                                     transposeB: transposeB, into: expected, alpha: 0.5, beta: beta)
                for backend in [h.fast, h.reference] {
                    let c = try backend.upload(c0, shape: [m, n], dtype: .f32)
                    try backend.gemm(try backend.upload(a, shape: aShape, dtype: .f32), transposeA: transposeA, try upload(backend),
                                     transposeB: transposeB, into: c, alpha: 0.5, beta: beta)
                    assertClose(try backend.download(c), try h.reference.values(expected), rtol: 1e-5, atol: 1e-5, "\(where_) \(backend.kernels)")
                }
                let b = try upload(h.fast)
                for blockElements in [1, 3 * bShape[1], 1 << 20] {
                    var c = c0
                    try a.withUnsafeBufferPointer { pa in
                        try c.withUnsafeMutableBufferPointer { pc in
                            try h.fast.gemmWideningInBlocks(pa.baseAddress!, transposeA: transposeA, b, transposeB: transposeB,
                                                            pc.baseAddress!, m: m, n: n, k: k, alpha: 0.5, beta: beta, blockElements: blockElements)
                        }
                    }
                    assertClose(c, try h.reference.values(expected), rtol: 1e-5, atol: 1e-5, "\(where_) block \(blockElements)")
                }
                // bf16 products: both operands rounded to bf16, as for a bf16 weight; f32 accumulation.
                guard half.matmulFallback == nil else { continue }
                for backend in [half, roundedReference] {
                    let bf16 = try backend.upload(values, shape: bShape, dtype: .bf16)  // the decoded values rounded once
                    let (c, viaBF16) = (try backend.upload(c0, shape: [m, n], dtype: .f32), try backend.upload(c0, shape: [m, n], dtype: .f32))
                    let aTensor = try backend.upload(a, shape: aShape, dtype: .f32)
                    try backend.gemm(aTensor, transposeA: transposeA, try upload(backend), transposeB: transposeB, into: c, alpha: 0.5, beta: beta)
                    try backend.gemm(aTensor, transposeA: transposeA, bf16, transposeB: transposeB, into: viaBF16, alpha: 0.5, beta: beta)
                    assertClose(try backend.download(c), try backend.download(viaBF16), rtol: 1e-5, atol: 1e-5,
                                "\(where_) bf16 products \(backend.kernels)")
                }
            }
        }
    }

    func testProductsEqualTheProductOfTheDecodedValues() throws {
        var rng = SeededRandom(seed: 9)
        for block in [GGMLBlockType.q4_1, .q8_0, .q5_0, .q4_K, .q6_K] {
            // b [n, k] (transposeB) or [k, n]: rows are whole blocks either way.
            try checkProducts("\(block)", k: block.blockSize, n: 2 * block.blockSize) { shape in
                let bytes = Self.randomBlocks(block, rows: shape[0], rowLength: shape[1], rng: &rng)
                return ({ backend in try bytes.withUnsafeBytes { try backend.upload(bytes: $0, shape: shape, dtype: DType(block), owner: nil) } },
                        Self.decoded(bytes, block))
            }
        }
    }

    /// bitsandbytes' 4-bit blocks go through the same blocked products (their blocks need not start at a row: 4-bit
    /// blocks of 64 over rows of 37 values, an odd last dimension, double quantization).
    func testFourBitProductsEqualTheProductOfTheDequantizedValues() throws {
        var rng = SeededRandom(seed: 10)
        for (format, doubleQuant) in [(FourBitFormat.nf4, true), (.fp4, false)] {
            try checkProducts("\(format) dq \(doubleQuant)", k: 37, n: 45) { shape in
                let blocks = try rng.floats(shape[0] * shape[1]).withUnsafeBufferPointer {
                    try FourBitQuantizer.quantize($0, format: format, blocksize: 64, doubleQuant: doubleQuant)
                }
                let values = blocks.dequantized(oddLastDimension: shape[1] % 2 == 1)
                return ({ backend in try backend.upload(fourBit: blocks, shape: shape) }, values)
            }
        }
    }

    func testBadBlocksAreClearErrors() throws {
        let backend = try CPUBackend(kernels: .fast)
        let bytes = [UInt8](repeating: 0, count: 20 * 3)
        XCTAssertThrowsError(try bytes.withUnsafeBytes { try backend.upload(bytes: $0, shape: [3, 48], dtype: .q4_1, owner: nil) }) { error in
            XCTAssertEqual(error as? TensorError, .rowsNotWholeBlocks(dtype: .q4_1, rowLength: 48, blockSize: 32))
            XCTAssertTrue("\(error)".contains("blocks of 32 values, but its rows have 48"), "\(error)")
        }
        XCTAssertThrowsError(try bytes.withUnsafeBytes { try backend.upload(bytes: $0, shape: [2, 32], dtype: .q4_1, owner: nil) }) { error in
            XCTAssertEqual(error as? TensorError, .quantizedDataMismatch(part: "Q4_1 bytes", expected: 40, got: 60))
        }
        XCTAssertThrowsError(try backend.empty([2, 32], dtype: .q8_0), "no empty ggml tensor: its bytes come from a file")
        let q = try bytes.withUnsafeBytes { try backend.upload(bytes: $0, shape: [3, 32], dtype: .q4_1, owner: nil) }
        XCTAssertThrowsError(try backend.fill(q, value: 1), "a frozen weight is never written")
    }
}
