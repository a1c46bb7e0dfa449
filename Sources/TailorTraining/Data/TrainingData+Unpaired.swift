import Foundation
import TailorData

extension TrainingData {
    /// Stage kto's data, as TRL's KTOTrainer prepares it: labelled examples tokenized as
    /// `ConversationEncoder.encodeUnpaired` does, an example whose prompt fills max_length dropped,
    /// then each example's KL completion drawn in file order within its batch of
    /// per_device_train_batch_size (per_device_eval_batch_size for evaluation), rotated by one:
    /// (x₁, y_n), (x₂, y₁), ..., (x_n, y_{n−1}). Every row is one example: prompt + completion, then
    /// prompt + KL completion (each cut to max_length), with the example's label.
    static func prepareUnpaired(recipe: TrainRecipe, modelFolder: URL) throws -> TrainingData {
        let (train, validation, encoder) = try loadPreference(recipe: recipe, modelFolder: modelFolder, check: DatasetEncoder.checkUnpaired)
        let options = recipe.data
        var warnings = summarize(train.skipped)
        let (trainExamples, evalExamples) = try encodeAndSplit(recipe: recipe, train: train, validation: validation, warnings: &warnings) {
            let result = try encoder.encodeUnpaired($0)
            return (result.examples, result.issues)
        }
        guard !trainExamples.isEmpty else {
            throw TrainingError.unusableData("no KTO example is left to train on (every one was dropped or skipped; see the warnings)")
        }
        if !trainExamples.contains(where: \.desirable) || !trainExamples.contains(where: { !$0.desirable }) {
            warnings.append("the training data has only \(trainExamples[0].desirable ? "desirable" : "undesirable") examples; KTO learns"
                            + " most from both (TRL's KTOTrainer warns likewise)")
        }
        let rows = Self.ktoRows(trainExamples, batchSize: recipe.training.perDeviceTrainBatchSize, maxLength: options.maxLength)
        let evalRows = Self.ktoRows(evalExamples, batchSize: recipe.training.perDeviceEvalBatchSize, maxLength: options.maxLength)
        return TrainingData(train: rows, eval: evalRows, warnings: warnings, trainSampleCount: trainExamples.count,
                            trainLabelTokens: rows.reduce(0) { $0 + $1.samples[0].labelTokens },
                            longestSample: rows.flatMap(\.samples).map(\.ids.count).max() ?? 0)
    }

    /// Rows of (prompt + completion, prompt + KL completion), the KL completions rotated by one
    /// within each run of `batchSize` examples, as TRL's batched map draws them.
    static func ktoRows(_ examples: [EncodedCompletion], batchSize: Int, maxLength: Int?) -> [TrainingRow] {
        var rows: [TrainingRow] = []
        for start in stride(from: 0, to: examples.count, by: max(1, batchSize)) {
            let chunk = Array(examples[start..<min(start + max(1, batchSize), examples.count)])
            for (index, example) in chunk.enumerated() {
                let other = chunk[(index + chunk.count - 1) % chunk.count].completion
                let room = maxLength.map { max(0, $0 - example.prompt.count) } ?? other.count
                let kl = example.sample(Array(other.prefix(room)))
                rows.append(TrainingRow([TrainingSample(example.sample()), TrainingSample(kl)], desirable: example.desirable))
            }
        }
        return rows
    }
}
