import TailorData

extension TrainingSample {
    /// Throws `TrainingError.tokenOutOfVocabulary` for the first id outside 0..<`vocabSize`, or
    /// label outside it that is not -100, naming the sample's file and line (or its row).
    /// The model would otherwise fail on a batch, far from the record at fault.
    func checkVocabulary(_ vocabSize: Int, name: @autoclosure () -> String) throws {
        let limit = Int32(clamping: vocabSize)
        if let at = ids.firstIndex(where: { $0 < 0 || $0 >= limit }) {
            throw TrainingError.tokenOutOfVocabulary(sample: source?.description ?? name(), field: "input_ids[\(at)]",
                                                     id: ids[at], vocabSize: vocabSize)
        }
        if let at = labels.firstIndex(where: { $0 != -100 && ($0 < 0 || $0 >= limit) }) {
            throw TrainingError.tokenOutOfVocabulary(sample: source?.description ?? name(), field: "labels[\(at)]",
                                                     id: labels[at], vocabSize: vocabSize)
        }
    }

    /// Checks every training and evaluation sample against the model's vocabulary.
    static func checkVocabulary(rows: [TrainingRow], eval: [TrainingRow], vocabSize: Int) throws {
        for (row, samples) in rows.enumerated() {
            for (index, sample) in samples.samples.enumerated() {
                try sample.checkVocabulary(vocabSize, name: "training row \(row)" + (samples.samples.count > 1 ? ", sample \(index)" : ""))
            }
        }
        for (row, samples) in eval.enumerated() {
            for (index, sample) in samples.samples.enumerated() {
                try sample.checkVocabulary(vocabSize, name: samples.samples.count > 1 ? "evaluation row \(row), sample \(index)" : "evaluation sample \(row)")
            }
        }
    }
}
