import TailorTensor
import TailorTestSupport
import XCTest

/// The host SVD and QR (LAPACK through OpenBLAS) against their definitions: U·diag(S)·Vᵀ = W and
/// Q·R = W, orthonormal factors, descending singular values, an upper-triangular R; and the
/// randomized SVD against the exact one.
final class LinearAlgebraTests: XCTestCase {
    /// Naive row-major product, the obviously-correct reference.
    static func product(_ a: [Float], _ b: [Float], m: Int, k: Int, n: Int) -> [Float] {
        var c = [Float](repeating: 0, count: m * n)
        for i in 0..<m {
            for j in 0..<n {
                var sum: Double = 0
                for p in 0..<k { sum += Double(a[i * k + p]) * Double(b[p * n + j]) }
                c[i * n + j] = Float(sum)
            }
        }
        return c
    }

    static func transpose(_ a: [Float], rows: Int, columns: Int) -> [Float] {
        var t = [Float](repeating: 0, count: a.count)
        for i in 0..<rows { for j in 0..<columns { t[j * rows + i] = a[i * columns + j] } }
        return t
    }

    static func identity(_ n: Int) -> [Float] {
        (0..<(n * n)).map { $0 / n == $0 % n ? 1 : 0 }
    }

    static let shapes = [(7, 5), (5, 7), (16, 16), (64, 24), (24, 64), (1, 9)]

    /// MᵀM = I for a rows × columns matrix M (row-major).
    func assertOrthonormalColumns(_ m: [Float], rows: Int, columns: Int, _ message: String, file: StaticString = #filePath, line: UInt = #line) {
        assertClose(Self.product(Self.transpose(m, rows: rows, columns: columns), m, m: columns, k: rows, n: columns), Self.identity(columns),
                    rtol: 0, atol: 1e-5, message, file: file, line: line)
    }

    func testSVDReconstructsAndIsOrthonormal() throws {
        var rng = SeededRandom(seed: 5)
        for (rows, columns) in Self.shapes {
            let w = rng.floats(rows * columns)
            let svd = try LinearAlgebra.svd(w, rows: rows, columns: columns)
            let k = min(rows, columns)
            XCTAssertEqual(svd.k, k)
            XCTAssertEqual([svd.u.count, svd.s.count, svd.vt.count], [rows * k, k, k * columns])
            // U · diag(S) · Vᵀ = W
            var us = svd.u
            for i in 0..<rows { for j in 0..<k { us[i * k + j] *= svd.s[j] } }
            assertClose(Self.product(us, svd.vt, m: rows, k: k, n: columns), w, rtol: 1e-4, atol: 1e-5, "U S Vt = W for \(rows)x\(columns)")
            // UᵀU = I, V Vᵀ = I
            assertOrthonormalColumns(svd.u, rows: rows, columns: k, "UᵀU = I for \(rows)x\(columns)")
            assertClose(Self.product(svd.vt, Self.transpose(svd.vt, rows: k, columns: columns), m: k, k: columns, n: k), Self.identity(k),
                        rtol: 0, atol: 1e-5, "V Vᵀ = I for \(rows)x\(columns)")
            XCTAssertEqual(svd.s, svd.s.sorted(by: >), "singular values descend")
            XCTAssertTrue(svd.s.allSatisfy { $0 >= 0 })
        }
    }

    /// A matrix with known singular values 5, 3, 1: U diag(S) Vᵀ built from rotations.
    func testSVDFindsKnownSingularValues() throws {
        let (c, s) = (Float(0.6), Float(0.8))
        // W = diag(5, 3, 1) rotated on the left in the (0, 1) plane and on the right in the (1, 2) plane.
        let left: [Float] = [c, -s, 0, s, c, 0, 0, 0, 1]
        let right: [Float] = [1, 0, 0, 0, c, -s, 0, s, c]
        let w = Self.product(Self.product(left, [5, 0, 0, 0, 3, 0, 0, 0, 1], m: 3, k: 3, n: 3), right, m: 3, k: 3, n: 3)
        let svd = try LinearAlgebra.svd(w, rows: 3, columns: 3)
        assertClose(svd.s, [5, 3, 1], rtol: 1e-5, atol: 1e-5)
        // Each singular pair is fixed up to its joint sign: u_0 = ±left[:, 0], and then v_0 has the same sign.
        let sign: Float = svd.u[0] * c > 0 ? 1 : -1
        assertClose([svd.u[0], svd.u[3], svd.u[6]].map { $0 * sign }, [c, s, 0], rtol: 0, atol: 1e-5)
        assertClose(Array(svd.vt[0..<3]).map { $0 * sign }, [1, 0, 0], rtol: 0, atol: 1e-5)
    }

    func testQRReconstructsWithOrthonormalQAndTriangularR() throws {
        var rng = SeededRandom(seed: 6)
        for (rows, columns) in Self.shapes {
            let w = rng.floats(rows * columns)
            let qr = try LinearAlgebra.qr(w, rows: rows, columns: columns)
            let k = min(rows, columns)
            XCTAssertEqual([qr.q.count, qr.r.count], [rows * k, k * columns])
            assertClose(Self.product(qr.q, qr.r, m: rows, k: k, n: columns), w, rtol: 1e-4, atol: 1e-5, "Q R = W for \(rows)x\(columns)")
            assertOrthonormalColumns(qr.q, rows: rows, columns: k, "QᵀQ = I for \(rows)x\(columns)")
            for i in 0..<k { for j in 0..<min(i, columns) { XCTAssertEqual(qr.r[i * columns + j], 0, "R is upper triangular") } }
        }
    }

    /// LAPACK's Householder convention, which torch.linalg.qr shares: R's diagonal is −sign(w₀₀)·‖w[:, 0]‖ first.
    func testQRSignsAreLAPACKsHouseholderConvention() throws {
        let qr = try LinearAlgebra.qr([3, 1, 4, 2], rows: 2, columns: 2)
        XCTAssertEqual(qr.r[0], -5, accuracy: 1e-5)
        assertClose([qr.q[0], qr.q[2]], [-0.6, -0.8], rtol: 0, atol: 1e-6)
    }

    /// With enough power iterations the randomized SVD finds the exact top-q triplets (up to sign);
    /// with none it is only an approximation.
    func testLowRankSVDConvergesToTheExactTopSingularTriplets() throws {
        var rng = SeededRandom(seed: 7)
        for (rows, columns) in [(40, 24), (24, 40)] {
            // A clear gap after the 4th singular value (a strong rank-4 part plus noise), so 40 iterations converge.
            let q = 4
            let strong = Self.product(rng.floats(rows * q), rng.floats(q * columns), m: rows, k: q, n: columns)
            let w = zip(strong, rng.floats(rows * columns, scale: 0.05)).map { 2 * $0 + $1 }
            let exact = try LinearAlgebra.svd(w, rows: rows, columns: columns)
            var generator = SplitMix64(state: 11)
            let approx = try LinearAlgebra.svdLowRank(w, rows: rows, columns: columns, rank: q, iterations: 40, generator: &generator)
            XCTAssertEqual([approx.u.count, approx.s.count, approx.vt.count], [rows * q, q, q * columns])
            assertClose(approx.s, Array(exact.s.prefix(q)), rtol: 1e-4, atol: 1e-5, "top singular values \(rows)x\(columns)")
            // The rank-q products agree, which is sign-free.
            func truncated(_ svd: LinearAlgebra.SVD) -> [Float] {
                var us = [Float](repeating: 0, count: rows * q)
                for i in 0..<rows { for j in 0..<q { us[i * q + j] = svd.u[i * svd.k + j] * svd.s[j] } }
                return Self.product(us, Array(svd.vt.prefix(q * columns)), m: rows, k: q, n: columns)
            }
            assertClose(truncated(approx), truncated(exact), rtol: 1e-3, atol: 1e-4, "rank-\(q) product \(rows)x\(columns)")
            var again = SplitMix64(state: 11)
            let rough = try LinearAlgebra.svdLowRank(w, rows: rows, columns: columns, rank: q, iterations: 0, generator: &again)
            XCTAssertGreaterThan(zip(rough.s, exact.s).map { abs($0 - $1) }.reduce(0, +), 1e-6,
                                 "no power iteration: an approximation only")
        }
    }

    func testBadShapesAreErrors() {
        XCTAssertThrowsError(try LinearAlgebra.svd([1, 2, 3], rows: 2, columns: 2)) { XCTAssertTrue("\($0)".contains("4")) }
        XCTAssertThrowsError(try LinearAlgebra.qr([], rows: 0, columns: 3))
        var generator = SplitMix64(state: 1)
        XCTAssertThrowsError(try LinearAlgebra.svdLowRank([1, 2, 3, 4], rows: 2, columns: 2, rank: 3, iterations: 1, generator: &generator))
        XCTAssertThrowsError(try LinearAlgebra.svd([1, .nan, 3, 4], rows: 2, columns: 2)) { XCTAssertTrue("\($0)".contains("sgesdd"), "\($0)") }
    }
}
