import Foundation
import TailorData
import TailorTokenizers

extension TrainingData {
    /// `modelFolder`'s tokenizer, checked to have a chat template when the recipe names none.
    static func tokenizer(_ options: DatasetOptions, modelFolder: URL) throws -> PretrainedTokenizer {
        let tokenizer = try PretrainedTokenizer(folder: modelFolder)
        if options.template == nil && tokenizer.chatTemplate == nil {
            throw TrainingError.missingKey("template", hint: "\(modelFolder.path) has no chat_template in tokenizer_config.json; name a built-in one (e.g. --template chatml) or a .jinja file")
        }
        return tokenizer
    }

    /// `body`'s result; a `DataError.invalidOption` it throws becomes the recipe key's
    /// `TrainingError.invalidValue`, as every other bad key value is.
    static func recipeKeyErrors<Value>(_ body: () throws -> Value) throws -> Value {
        do { return try body() } catch let DataError.invalidOption(name, reason) {
            throw TrainingError.invalidValue(key: name, problem: reason)
        }
    }
}

extension TrainingSample {
    /// A training sample of an encoded one, keeping where it came from.
    init(_ encoded: EncodedSample) {
        self.init(ids: encoded.inputIds, labels: encoded.labels, source: encoded.source)
    }
}
