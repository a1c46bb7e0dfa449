import ArgumentParser
import Foundation
import TailorTestSupport
import TailorTraining
@testable import tailor
import XCTest

/// Seeded fuzzing of YAML recipes, read as `tailor train config.yaml` reads them (see `Fuzz`): a mutated
/// file reads and validates, or throws `ValidationError` / `TrainingError`, within the time bound.
final class RecipeYAMLFuzzTests: XCTestCase {
    func testRecipeYAML() throws {
        var recipes = [TrainRecipe()]
        var lora = TrainRecipe()
        _ = try RecipeKeys.apply(try TrainCommand.parseFlags(["--model_name_or_path", "m", "--dataset", "d.jsonl", "--output_dir", "o",
                                                              "--lora_rank", "16", "--learning_rate", "2e-4", "--num_train_epochs", "3",
                                                              "--lora_target", "q_proj,v_proj", "--max_steps", "100"]), to: &lora)
        recipes.append(lora)
        let corpus = recipes.map { Array(RecipeYAML.render($0).utf8) }
            + [Array("model_name_or_path: m\nstage: sft\nfinetuning_type: lora\nlora_target: all\ndataset: [a.json, b.jsonl]\ncutoff_len: 1024\nlearning_rate: 1.0e-4\nbf16: true\nwarmup_ratio: 0.1\nseed: 42\n".utf8)]
        Fuzz.run("recipe-yaml", seed: 0x9A41, cases: 300, corpus: corpus, text: true,
                 expected: { $0 is ValidationError || $0 is TrainingError }) { bytes in
            let url = try Fuzz.write(bytes, name: "config.yaml")
            defer { try? FileManager.default.removeItem(at: url.deletingLastPathComponent()) }
            var recipe = TrainRecipe()
            _ = try RecipeKeys.apply(try TrainCommand.readYAML(url.path), to: &recipe)
            try recipe.validate()
        }
    }
}
