import Foundation
@testable import tailor
import TailorData
import TailorTestSupport
import TailorTraining
import XCTest

/// The hint a bad record's error gives works where it is given: `--skip-invalid` is a flag of
/// `tailor data` and of `tailor train`, and a recipe's key is skip_invalid.
final class SkipInvalidHintTests: XCTestCase {
    let invalid = TestPaths.fixture("data/parity-invalid.jsonl").path

    func testTheHintOfABadRecordIsAcceptedByDataAndTrain() throws {
        XCTAssertThrowsError(try DatasetLoader().load(paths: [invalid])) { error in
            XCTAssertTrue("\(error)".contains("--skip-invalid (skip_invalid: true in a train recipe)"), "\(error)")
        }
        XCTAssertTrue(try DataInputOptions.parse([invalid, "--skip-invalid"]).options().skipInvalid)
        for flags in [["--skip-invalid"], ["--skip_invalid"], ["--skip-invalid", "true"]] {
            var recipe = TrainRecipe()
            XCTAssertEqual(try RecipeKeys.apply(TrainCommand.parseFlags(flags), to: &recipe), [], "\(flags)")
            XCTAssertTrue(recipe.data.skipInvalid, "\(flags)")
        }
        var recipe = TrainRecipe()
        _ = try RecipeKeys.apply([("skip_invalid", .bool(true))], to: &recipe)
        XCTAssertTrue(recipe.data.skipInvalid)
        let loaded = try DatasetLoader(options: recipe.data.loaderOptions).load(paths: [invalid])
        XCTAssertEqual(loaded.skipped.map { $0.source?.line }, [2])
    }
}
