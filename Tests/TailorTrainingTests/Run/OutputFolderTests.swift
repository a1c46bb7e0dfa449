import Foundation
import TailorTestSupport
@testable import TailorTraining
import XCTest

/// output_dir's rules: checked before the model loads, locked while a run trains, and never
/// silently replacing the base weights or another run's checkpoints.
final class OutputFolderTests: XCTestCase {
    var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("tailor-output-folder-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: folder) }

    func recipe(_ pairs: [(String, RecipeValue)] = []) throws -> TrainRecipe {
        var recipe = TrainRecipe()
        _ = try RecipeKeys.apply([
            ("model_name_or_path", .string(TestPaths.fixture("models/llama").path)), ("dataset", .string("unused.jsonl")),
            ("output_dir", .string(folder.appendingPathComponent("out").path)),
        ] + pairs, to: &recipe)
        return recipe
    }

    /// A checkpoint folder as `Checkpoint.list` sees one.
    func makeCheckpoint(_ step: Int, in out: URL) throws {
        let url = out.appendingPathComponent("checkpoint-\(step)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        try Data("{}".utf8).write(to: url.appendingPathComponent("training_state.json"))
    }

    func testASecondLockOnTheFolderFailsNamingTheHolder() throws {
        let out = folder.appendingPathComponent("out")
        let lock = try OutputFolder.Lock(out)
        XCTAssertEqual(try String(contentsOf: lock.file, encoding: .utf8), "\(getpid())\n")
        XCTAssertThrowsError(try OutputFolder.Lock(out)) { error in
            guard case let .folderInUse(path, pid)? = error as? TrainingError else { return XCTFail("\(error)") }
            XCTAssertEqual(path, out.path)
            XCTAssertEqual(pid, Int(getpid()))
            XCTAssertTrue("\(error)".contains("is in use by another tailor train (PID \(getpid()) holds .tailor.lock)"), "\(error)")
        }
        lock.release()
        XCTAssertEqual(try String(contentsOf: lock.file, encoding: .utf8), "", "released: the file names no holder")
        // A lock file left with a PID (a run that died) does not block: the kernel released its flock.
        try Data("999999\n".utf8).write(to: lock.file)
        XCTAssertNoThrow(try OutputFolder.Lock(out))
    }

    func testAFileOrAFolderUnderAFileIsRefusedPlainly() throws {
        let file = folder.appendingPathComponent("a-file")
        try Data("x".utf8).write(to: file)
        XCTAssertThrowsError(try OutputFolder.checkWritable(file)) { error in
            XCTAssertEqual("\(error)", "option 'output_dir': \(file.path) cannot be written (it is a file, not a folder); choose a writable folder")
        }
        XCTAssertThrowsError(try OutputFolder.checkWritable(file.appendingPathComponent("out/deeper"))) { error in
            XCTAssertTrue("\(error)".contains("(\(file.path) is a file, so no folder can be made under it)"), "\(error)")
        }
        XCTAssertNoThrow(try OutputFolder.checkWritable(folder.appendingPathComponent("new/deeper")))
        XCTAssertFalse(FileManager.default.fileExists(atPath: folder.appendingPathComponent("new").path), "checking creates nothing")
    }

    func testAnUnwritableFolderIsRefusedPlainly() throws {
        guard geteuid() != 0 else { throw XCTSkip("root may write into any folder") }
        let locked = folder.appendingPathComponent("locked")
        try FileManager.default.createDirectory(at: locked, withIntermediateDirectories: true)
        try FileManager.default.setAttributes([.posixPermissions: 0o555], ofItemAtPath: locked.path)
        defer { try? FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: locked.path) }
        XCTAssertThrowsError(try OutputFolder.checkWritable(locked)) { error in
            XCTAssertTrue("\(error)".contains("this user may not write into it"), "\(error)")
        }
    }

    func testFullFineTuningIntoTheModelFolderIsRefused() throws {
        let model = TestPaths.fixture("models/llama")
        let link = folder.appendingPathComponent("model-link")
        try FileManager.default.createSymbolicLink(at: link, withDestinationURL: model)
        for path in [model.path, model.path + "/.", link.path] {
            let full = try recipe([("finetuning_type", .string("full")), ("output_dir", .string(path))])
            XCTAssertThrowsError(try OutputFolder.check(URL(fileURLWithPath: path), recipe: full, modelFolder: model), path) { error in
                guard case .conflictingKeys("output_dir", "model_name_or_path", let problem)? = error as? TrainingError else { return XCTFail("\(error)") }
                XCTAssertTrue(problem.contains("full fine-tuning would overwrite the base weights"), problem)
            }
            let lora = try recipe([("output_dir", .string(path))])
            XCTAssertNoThrow(try OutputFolder.check(URL(fileURLWithPath: path), recipe: lora, modelFolder: model),
                             "an adapter beside the weights replaces none of them")
        }
    }

    func testAnotherRunsCheckpointsAreReplacedOnlyWhenAskedTo() throws {
        let out = folder.appendingPathComponent("out"), model = TestPaths.fixture("models/llama")
        XCTAssertNoThrow(try OutputFolder.check(out, recipe: try recipe(), modelFolder: model), "a new folder")
        for step in [2, 4, 6, 8] { try makeCheckpoint(step, in: out) }
        XCTAssertThrowsError(try OutputFolder.check(out, recipe: try recipe(), modelFolder: model)) { error in
            XCTAssertEqual("\(error)", "option 'output_dir' \(out.path) holds another run's checkpoints (checkpoint-2, checkpoint-4, ... checkpoint-8); to continue that run set resume_from_checkpoint: latest, to replace it set overwrite_output_dir: true, or choose another output_dir")
        }
        XCTAssertNoThrow(try OutputFolder.check(out, recipe: try recipe([("resume_from_checkpoint", .string("latest"))]), modelFolder: model))
        let own = out.appendingPathComponent("checkpoint-4").path
        XCTAssertNoThrow(try OutputFolder.check(out, recipe: try recipe([("resume_from_checkpoint", .string(own))]), modelFolder: model))
        let elsewhere = folder.appendingPathComponent("other")
        try makeCheckpoint(3, in: elsewhere)
        XCTAssertThrowsError(try OutputFolder.check(out, recipe: try recipe([("resume_from_checkpoint", .string(elsewhere.appendingPathComponent("checkpoint-3").path))]),
                                                    modelFolder: model), "resuming another folder's run does not continue this one's")
        var overwrite = try recipe([("overwrite_output_dir", .bool(true))])
        XCTAssertTrue(overwrite.training.overwriteOutputDir)
        XCTAssertNoThrow(try OutputFolder.check(out, recipe: overwrite, modelFolder: model))
        XCTAssertTrue(RecipeYAML.render(overwrite).contains("\noverwrite_output_dir: true\n"))
        overwrite.training.overwriteOutputDir = false
        XCTAssertFalse(RecipeYAML.render(overwrite).contains("overwrite_output_dir"), "written only when it is set")
        XCTAssertNil(RecipeKeys.ignored["overwrite_output_dir"], "overwrite_output_dir has an effect")

        try Data("{}\n".utf8).write(to: out.appendingPathComponent("metrics.jsonl"))
        try FileManager.default.createDirectory(at: out.appendingPathComponent("runs"), withIntermediateDirectories: true)
        try Data().write(to: out.appendingPathComponent("adapter_config.json"))
        try OutputFolder.clearPreviousRun(in: out)
        let left = try FileManager.default.contentsOfDirectory(atPath: out.path)
        XCTAssertEqual(left, ["adapter_config.json"], "checkpoints, metrics.jsonl and runs/ go; the rest is replaced as the run writes it")
    }

    func testMaxStepsZeroWarns() throws {
        XCTAssertEqual(try recipe().warnings, [])
        XCTAssertEqual(try recipe([("max_steps", .number(-1))]).warnings, [])
        let warnings = try recipe([("max_steps", .number(0))]).warnings
        XCTAssertEqual(warnings.count, 1)
        XCTAssertTrue(warnings[0].hasPrefix("max_steps: 0 means unset"), "\(warnings)")
        XCTAssertTrue(warnings[0].contains("num_train_epochs 3.0 epochs"), "\(warnings)")
    }

    func testALearningRateThatIsNotPositiveFailsRecipeValidation() throws {
        for rate in [-1e-4, 0, .nan] {
            XCTAssertThrowsError(try recipe([("learning_rate", .number(rate))]).validate(), "\(rate)") { error in
                guard case .invalidValue("learning_rate", _)? = error as? TrainingError else { return XCTFail("\(error)") }
            }
        }
    }

    /// Trainer's `resume_from_checkpoint=True` is the newest checkpoint in output_dir; false and null unset it.
    func testResumeFromCheckpointTrueMeansLatest() throws {
        XCTAssertEqual(try recipe([("resume_from_checkpoint", .bool(true))]).resumeFromCheckpoint, "latest")
        XCTAssertNil(try recipe([("resume_from_checkpoint", .bool(false))]).resumeFromCheckpoint)
        XCTAssertNil(try recipe([("resume_from_checkpoint", .null)]).resumeFromCheckpoint)
        XCTAssertEqual(try recipe([("resume_from_checkpoint", .string("out/checkpoint-5"))]).resumeFromCheckpoint, "out/checkpoint-5")
        XCTAssertTrue(RecipeYAML.render(try recipe([("resume_from_checkpoint", .bool(true))])).contains("\nresume_from_checkpoint: \"latest\"\n"))
    }
}
