import Foundation
@testable import TailorTraining
import XCTest

/// DeepSpeed JSON configs and FSDP's names read into ZeRO stages, what is refused or warned by
/// name, and how parameters are dealt to ranks.
final class ShardingSettingsTests: XCTestCase {
    var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("tailor-sharding-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: folder) }

    func write(_ text: String, _ name: String = "ds.json") throws -> String {
        let url = folder.appendingPathComponent(name)
        try text.write(to: url, atomically: true, encoding: .utf8)
        return url.path
    }

    /// LLaMA-Factory's examples/deepspeed/ds_z2_config.json, as users have it.
    let llamaFactoryZ2 = """
    {"train_batch_size": "auto", "train_micro_batch_size_per_gpu": "auto", "gradient_accumulation_steps": "auto",
     "gradient_clipping": "auto", "zero_allow_untested_optimizer": true,
     "fp16": {"enabled": "auto", "loss_scale": 0, "loss_scale_window": 1000, "initial_scale_power": 16, "hysteresis": 2, "min_loss_scale": 1},
     "bf16": {"enabled": "auto"},
     "zero_optimization": {"stage": 2, "allgather_partitions": true, "allgather_bucket_size": 5e8, "overlap_comm": false,
                           "reduce_scatter": true, "reduce_bucket_size": 5e8, "contiguous_gradients": true, "round_robin_gradients": true}}
    """

    func testLLaMAFactorysZeRO2ConfigReadsAsStage2WithoutWarnings() throws {
        var recipe = TrainRecipe()
        XCTAssertNil(try RecipeKeys.apply("deepspeed", .string(try write(llamaFactoryZ2)), to: &recipe))
        XCTAssertEqual(recipe.training.sharding.stage, 2)
        XCTAssertEqual(recipe.training.sharding.bucketElements, 500_000_000)
        XCTAssertEqual(recipe.training.sharding.warnings, [])
        XCTAssertNoThrow(try recipe.training.validate())
        XCTAssertTrue(RecipeYAML.render(recipe).contains("deepspeed: "), "tailor_config.yaml keeps the file")
    }

    func testStage3AndBadFilesAreRefusedNamingTheFileAndKey() throws {
        func error(_ text: String) throws -> String {
            var recipe = TrainRecipe()
            do { _ = try RecipeKeys.apply("deepspeed", .string(try write(text)), to: &recipe) } catch { return "\(error)" }
            return "accepted"
        }
        XCTAssertTrue(try error(#"{"zero_optimization": {"stage": 3}}"#).contains("stage 3 (parameters sharded over the ranks)"))
        XCTAssertTrue(try error(#"{"zero_optimization": {"stage": 5}}"#).contains("zero_optimization.stage must be 0, 1, 2 or 3"))
        XCTAssertTrue(try error(#"{"zero_optimization": {"stage": 1}, "#).contains("ds.json"))
        XCTAssertTrue(try error(#"{"train_micro_batch_size_per_gpu": "four"}"#).contains("train_micro_batch_size_per_gpu must be a number or \"auto\""))
        var recipe = TrainRecipe()
        XCTAssertThrowsError(try RecipeKeys.apply("deepspeed", .string(folder.appendingPathComponent("none.json").path), to: &recipe)) { error in
            XCTAssertTrue("\(error)".contains("none.json cannot be read"), "\(error)")
        }
    }

    func testExplicitValuesMustEqualTheRecipesAndOtherKeysAreWarnedByName() throws {
        var recipe = TrainRecipe()
        _ = try RecipeKeys.apply("deepspeed", .string(try write("""
            {"train_micro_batch_size_per_gpu": 4, "gradient_clipping": 1.0, "optimizer": {"type": "AdamW"},
             "zero_optimization": {"stage": 1, "offload_optimizer": {"device": "cpu"}, "sub_group_size": 1e9}}
            """)), to: &recipe)
        XCTAssertEqual(recipe.training.sharding.stage, 1)
        let warnings = recipe.warnings.joined(separator: "\n")
        XCTAssertTrue(warnings.contains("optimizer has no effect"), warnings)
        XCTAssertTrue(warnings.contains("zero_optimization.offload_optimizer to cpu is not built"), warnings)
        XCTAssertTrue(warnings.contains("zero_optimization.sub_group_size has no effect"), warnings)
        recipe.training.perDeviceTrainBatchSize = 2
        XCTAssertThrowsError(try recipe.training.validate()) { error in
            XCTAssertTrue("\(error)".contains("train_micro_batch_size_per_gpu 4 but the recipe has 2"), "\(error)")
        }
        recipe.training.perDeviceTrainBatchSize = 4
        XCTAssertNoThrow(try recipe.training.validate(), "gradient_clipping 1.0 equals max_grad_norm's default")
    }

    func testFSDPNamesMapToStages() throws {
        XCTAssertEqual(try ShardingSettings.fsdp("shard_grad_op auto_wrap").stage, 2)
        XCTAssertEqual(try ShardingSettings.fsdp("shard_grad_op auto_wrap").warnings, ["fsdp: auto_wrap has no effect in Tailor"])
        XCTAssertEqual(try ShardingSettings.fsdp("no_shard").stage, 0)
        XCTAssertThrowsError(try ShardingSettings.fsdp("full_shard")) { XCTAssertTrue("\($0)".contains("ZeRO stage 3"), "\($0)") }
        XCTAssertThrowsError(try ShardingSettings.fsdp("shard_everything")) { XCTAssertTrue("\($0)".contains("is not an FSDP option"), "\($0)") }
    }

    func testParametersAreDealtAsContiguousRunsOfAboutEqualSize() {
        XCTAssertEqual(ShardedOptimizer.owners(counts: [10, 10, 10, 10], worldSize: 2), [0, 0, 1, 1])
        XCTAssertEqual(ShardedOptimizer.owners(counts: [30, 5, 5, 5, 5], worldSize: 2), [0, 1, 1, 1, 1])
        XCTAssertEqual(ShardedOptimizer.owners(counts: [4, 4, 4, 4, 4, 4, 4, 4], worldSize: 4), [0, 0, 1, 1, 2, 2, 3, 3])
        XCTAssertEqual(ShardedOptimizer.owners(counts: [1, 1], worldSize: 4), [0, 2], "more ranks than tensors: some own none")
        XCTAssertEqual(ShardedOptimizer.owners(counts: [7], worldSize: 1), [0])
    }
}
