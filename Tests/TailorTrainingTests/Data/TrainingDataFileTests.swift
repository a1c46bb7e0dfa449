import Foundation
import TailorData
@testable import TailorTraining
import XCTest

/// Encoded data written for a parallel sweep's processes reads back exactly; a damaged file is a clear error.
final class TrainingDataFileTests: XCTestCase {
    func sample(_ ids: [Int32], source: SourceLocation? = nil) -> TrainingSample {
        TrainingSample(ids: ids, labels: ids.enumerated().map { $0.offset == 0 ? -100 : $0.element }, source: source)
    }

    func testARoundTripKeepsEveryField() throws {
        let data = TrainingData(
            train: [TrainingRow([sample([1, 5, -7, Int32.max], source: SourceLocation(file: "a/数据.json", line: 12, index: 3)), sample([2, 9])]),
                    TrainingRow([sample([4, 4, 4])], desirable: true), TrainingRow([sample([])], desirable: false)],
            eval: [TrainingRow([sample([Int32.min, 0])])],
            warnings: ["2 samples truncated", ""], trainSampleCount: 4, trainLabelTokens: 6, longestSample: 4)
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("tailor-data-\(UUID().uuidString).data")
        defer { try? FileManager.default.removeItem(at: url) }
        try data.write(to: url)
        let back = try TrainingData.read(from: url)
        XCTAssertEqual(back.train, data.train)
        XCTAssertEqual(back.eval, data.eval)
        XCTAssertEqual(back.warnings, data.warnings)
        XCTAssertEqual([back.trainSampleCount, back.trainLabelTokens, back.longestSample], [4, 6, 4])

        // Cut short, lengthened, or not such a file: each an error naming the file.
        let bytes = try Data(contentsOf: url)
        for (damaged, says) in [(bytes.prefix(bytes.count - 3), "ends early"), (bytes + [0], "bytes after"), (Data("hello".utf8), "no TLRDATA1")] {
            try damaged.write(to: url)
            XCTAssertThrowsError(try TrainingData.read(from: url)) { error in
                XCTAssertTrue("\(error)".contains(url.path) && "\(error)".contains(says), "\(error)")
            }
        }
        // A count larger than the file could hold is caught before anything is allocated for it.
        var huge = Array(bytes)
        for index in 32..<40 { huge[index] = 0x7f }  // the train row count
        try Data(huge).write(to: url)
        XCTAssertThrowsError(try TrainingData.read(from: url)) { XCTAssertTrue("\($0)".contains("ends early"), "\($0)") }
    }
}
