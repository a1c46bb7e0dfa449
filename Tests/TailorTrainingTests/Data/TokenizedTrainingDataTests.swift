import Foundation
import TailorAdapters
import TailorData
import TailorModels
import TailorTensor
import TailorTestSupport
import TailorTraining
import XCTest

/// `dataset_format: tokenized` through TrainingData.prepare and the Trainer: no tokenizer or chat
/// template needed, truncation, packing, splits, and ids outside the vocabulary named by record.
final class TokenizedTrainingDataTests: XCTestCase {
    var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("tailor-tokenized-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: folder) }

    /// The tiny llama fixture: config.json and weights, no tokenizer.json, no tokenizer_config.json.
    var model: URL { TestPaths.fixture("models/llama") }

    func write(_ name: String, _ lines: [String]) throws -> String {
        let url = folder.appendingPathComponent(name)
        try (lines.joined(separator: "\n") + "\n").write(to: url, atomically: true, encoding: .utf8)
        return url.path
    }

    func recipe(_ datasets: [String], configure: (inout TrainRecipe) -> Void = { _ in }) -> TrainRecipe {
        var recipe = TrainRecipe()
        recipe.modelNameOrPath = model.path
        recipe.datasets = datasets
        recipe.maxSeqLength = 6
        configure(&recipe)
        return recipe
    }

    static let records = [
        #"{"input_ids": [1, 10, 11, 12, 2]}"#,
        #"{"input_ids": [1, 20, 21, 22, 23, 24, 25, 2], "labels": [-100, -100, -100, 22, 23, 24, 25, 2]}"#,
        #"{"input_ids": [1, 30, 31, 0, 0], "labels": [-100, 30, 31, -100, -100], "attention_mask": [1, 1, 1, 0, 0]}"#,
    ]

    func testPrepareNeedsNoTokenizerAndKeepsIdsAndLabels() throws {
        for file in ["tokenizer.json", "tokenizer_config.json"] {
            XCTAssertFalse(FileManager.default.fileExists(atPath: model.appendingPathComponent(file).path), "the fixture must lack \(file)")
        }
        let path = try write("train.jsonl", Self.records)
        let data = try TrainingData.prepare(recipe: recipe([path]), modelFolder: model)
        XCTAssertEqual(data.train.map(\.samples.count), [1, 1, 1])
        let samples = data.train.map { $0.samples[0] }
        XCTAssertEqual(samples.map(\.ids), [[1, 10, 11, 12, 2], [1, 20, 21, 22, 23, 24], [1, 30, 31]])
        XCTAssertEqual(samples.map(\.labels), [[1, 10, 11, 12, 2], [-100, -100, -100, 22, 23, 24], [-100, 30, 31]])
        XCTAssertEqual(samples.map { $0.source?.line }, [1, 2, 3])
        XCTAssertEqual(data.trainSampleCount, 3)
        XCTAssertEqual(data.trainLabelTokens, 4 + 3 + 2)
        XCTAssertEqual(data.longestSample, 6)
        XCTAssertEqual(data.warnings.count, 1, "\(data.warnings)")
        XCTAssertTrue(data.warnings[0].contains("train.jsonl:2") && data.warnings[0].contains("cut 2 tokens from the end"), data.warnings[0])
    }

    func testExplicitFormatPackingAndValidationSplit() throws {
        let path = try write("train.json", ["["] + (0..<10).map { i in #"{"input_ids": [1, \#(10 + i), 2]},"# } + [#"{"input_ids": [1, 2]}"#, "]"])
        let packed = try TrainingData.prepare(recipe: recipe([path]) {
            $0.data.format = .tokenized
            $0.packing = true
            $0.validationSplit = 0.2
        }, modelFolder: model)
        XCTAssertEqual(packed.eval.count, 2)
        XCTAssertEqual(packed.trainSampleCount, 9)
        XCTAssertEqual(packed.train.reduce(0) { $0 + $1.samples.count }, 9, "every training sample is in one packed row")
        XCTAssertTrue(packed.train.allSatisfy { $0.tokenCount <= 6 })
        XCTAssertLessThan(packed.train.count, 9, "rows hold several samples")
        XCTAssertEqual(Set(packed.train.flatMap(\.samples).map(\.ids) + packed.eval.flatMap(\.samples).map(\.ids)).count, 11)
    }

    func testValidationFileIsReadAsTokenizedToo() throws {
        let train = try write("train.jsonl", Self.records)
        let eval = try write("eval.jsonl", [#"{"input_ids": [1, 40, 41, 2], "labels": [-100, -100, 41, 2]}"#])
        let data = try TrainingData.prepare(recipe: recipe([train]) { $0.validationFile = eval }, modelFolder: model)
        XCTAssertEqual(data.eval, [TrainingRow([TrainingSample(ids: [1, 40, 41, 2], labels: [-100, -100, 41, 2],
                                                               source: SourceLocation(file: eval, line: 1, index: 0))])])
    }

    func testTextRecordsStillNeedTheTokenizer() throws {
        let path = try write("chat.jsonl", [#"{"text": "hello"}"#])
        XCTAssertThrowsError(try TrainingData.prepare(recipe: recipe([path]), modelFolder: model)) { error in
            XCTAssertTrue("\(error)".contains("tokenizer"), "\(error)")
        }
    }

    func testFullyMaskedTokenizedDataIsRefused() throws {
        let path = try write("masked.jsonl", [#"{"input_ids": [1, 2, 3], "labels": [-100, -100, -100]}"#])
        XCTAssertThrowsError(try TrainingData.prepare(recipe: recipe([path]), modelFolder: model)) { error in
            XCTAssertTrue("\(error)".contains("masked.jsonl:1") && "\(error)".contains("-100"), "\(error)")
        }
    }

    func testIdsOutsideTheVocabularyNameTheRecord() throws {
        let cpu = try CPUBackend()
        let llama = try CausalLM.load(folder: model, backend: cpu)
        XCTAssertEqual(llama.config.vocabSize, 96)
        let adapters = try LoRAAdapters.attach(to: llama, config: LoRAConfig(r: 2, targetModules: .names(["q_proj"])))
        var args = TrainingArguments()
        args.outputDir = folder.appendingPathComponent("out").path
        let cases: [(record: String, words: [String])] = [
            (#"{"input_ids": [1, 5, 200, 2]}"#, ["bad.jsonl:2", "input_ids[2] is 200", "vocab_size 96"]),
            (#"{"input_ids": [1, 5, 6, 2], "labels": [-100, 5, 96, 2]}"#, ["bad.jsonl:2", "labels[2] is 96"]),
        ]
        for (record, words) in cases {
            let path = try write("bad.jsonl", [Self.records[0], record])
            let data = try TrainingData.prepare(recipe: recipe([path]), modelFolder: model)
            XCTAssertThrowsError(try Trainer(model: llama, trainable: .lora(adapters), rows: data.train, args: args)) { error in
                for word in words { XCTAssertTrue("\(error)".contains(word), "'\(word)' missing from: \(error)") }
            }
        }
        let made = [TrainingSample(ids: [1, 2, 3], labels: [1, 2, 3]), TrainingSample(ids: [1, 300], labels: [1, 300])]
        XCTAssertThrowsError(try Trainer(model: llama, trainable: .lora(adapters), train: made, args: args)) { error in
            XCTAssertTrue("\(error)".contains("training row 1: input_ids[1] is 300"), "\(error)")
        }
        let eval = [TrainingSample(ids: [1, 99], labels: [1, 99])]
        XCTAssertThrowsError(try Trainer(model: llama, trainable: .lora(adapters), train: Array(made.prefix(1)), eval: eval, args: args)) { error in
            XCTAssertTrue("\(error)".contains("evaluation sample 0: input_ids[1] is 99"), "\(error)")
        }
    }

    /// max_samples (LLaMA-Factory): the first N records of each dataset, in order.
    func testMaxSamplesKeepsTheFirstRecordsOfEachDataset() throws {
        let first = try write("a.jsonl", Self.records)
        let second = try write("b.jsonl", [#"{"input_ids": [1, 40, 2]}"#, #"{"input_ids": [1, 50, 2]}"#, #"{"input_ids": [1, 60, 2]}"#])
        let data = try TrainingData.prepare(recipe: recipe([first, second]) { $0.maxSamples = 2 }, modelFolder: model)
        XCTAssertEqual(data.train.map { $0.samples[0].ids }, [[1, 10, 11, 12, 2], [1, 20, 21, 22, 23, 24], [1, 40, 2], [1, 50, 2]])
        let all = try TrainingData.prepare(recipe: recipe([first, second]), modelFolder: model)
        XCTAssertEqual(all.trainSampleCount, 6)
    }

    /// KTO's unpaired records (LLaMA-Factory's kto_en_demo: messages + a boolean label) would train
    /// SFT on the undesirable replies too: every stage but kto refuses them, naming the record.
    func testUnpairedKTORecordsAreRefusedByEveryStageButKTO() throws {
        let path = try write("kto.jsonl", [
            #"{"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Go away."}], "label": false}"#,
        ])
        XCTAssertThrowsError(try TrainingData.prepare(recipe: recipe([path]), modelFolder: model)) { error in
            XCTAssertTrue("\(error)".contains("\(path):1: an unpaired KTO record (a reply with a boolean label) trains with stage: kto"), "\(error)")
        }
        XCTAssertThrowsError(try TrainingData.prepare(recipe: recipe([path]) { $0.stage = .dpo }, modelFolder: model)) { error in
            XCTAssertTrue("\(error)".contains("\(path):1: an unpaired KTO record"), "\(error)")
            XCTAssertTrue("\(error)".contains("Preference training (stage dpo) needs pairs"), "\(error)")
        }
    }

    /// Preference records used to train SFT on the chosen reply without a word; now they stop the
    /// run, naming the record and the stage they need.
    func testPreferenceRecordsAreRefusedNamingTheStage() throws {
        let path = try write("pairs.jsonl", [
            #"{"prompt": "Hi", "chosen": "Hello!", "rejected": "Go away."}"#,
        ])
        XCTAssertThrowsError(try TrainingData.prepare(recipe: recipe([path]), modelFolder: model)) { error in
            XCTAssertEqual("\(error)", "training data: \(path):1: preference records (prompt/chosen/rejected) train with stage: dpo"
                + " (--stage dpo); stage sft fine-tunes on messages, sharegpt, alpaca, text or input_ids records: to train on the chosen"
                + " replies alone, drop the rejected field")
        }
    }
}
