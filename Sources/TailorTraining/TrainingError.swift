/// Errors of the training layer. Each names the option, file or tensor and says what to do.
///
/// Recipe keys (YAML keys and `tailor train` flags) fail with the case that says what kind of
/// thing went wrong: an unknown key, a value of the wrong type, a value the key does not allow,
/// keys that contradict each other, a key a run cannot do without. Files a key names fail with
/// `unwritableFolder` or `checkpoint`; data that cannot train with `unusableData`. A broken
/// invariant of Tailor's own code is `internalError`, never an option error.
public enum TrainingError: Error, CustomStringConvertible {
    /// A key that no entry of `RecipeKeys.table` names (nor any of their aliases or the keys
    /// accepted without effect); `nearest` is the closest accepted spelling.
    case unknownKey(String, nearest: String)
    /// A value of the wrong type for `key`: a list where one value goes, a word where a number goes.
    case wrongValueType(key: String, expected: String, got: String)
    /// A value of the right type that `key` does not allow: outside its range, not one of its
    /// names, or malformed. `problem` says what it allows.
    case invalidValue(key: String, problem: String)
    /// `key` cannot hold together with `other` (another key, or the file another key names).
    case conflictingKeys(key: String, other: String, problem: String)
    /// A key a run cannot do without; `hint` says what to give.
    case missingKey(String, hint: String)
    /// A folder `key` names (output_dir) cannot be created or written.
    case unwritableFolder(key: String, path: String, reason: String)
    /// Another run (process `pid`, when its lock file names one) is training into output_dir `path`.
    case folderInUse(path: String, pid: Int?)
    /// The run was stopped (SIGINT) after step `step`; `checkpoint` holds its state to resume from.
    case interrupted(step: Int, checkpoint: String)
    /// A checkpoint (resume_from_checkpoint) that is missing, damaged, or was written by another run.
    case checkpoint(path: String, problem: String)
    /// The training data gives nothing to train on (no rows, or no label tokens).
    case unusableData(String)
    /// Nothing of the model was selected for training.
    case nothingToTrain(String)
    /// A tensor of a checkpoint or output folder is missing or mis-shaped (adapters' own files: `AdapterError`).
    case adapterWeight(name: String, file: String, problem: String)
    /// A feature that exists in peft/transformers but not in Tailor yet.
    case notImplemented(String)
    /// Data-parallel training across processes failed: a rank died or hangs (a collective timed
    /// out), the ranks disagree (another recipe), or MPI cannot be loaded. The text names the rank.
    case distributed(String)
    /// The loss became NaN or infinite.
    case nonFiniteLoss(step: Int, value: Double)
    /// A token id or label of a sample is outside the model's vocabulary. `sample` names the data
    /// file and line (or the row when the sample was made in code), `field` the position
    /// (`input_ids[7]`, `labels[7]`).
    case tokenOutOfVocabulary(sample: String, field: String, id: Int32, vocabSize: Int)
    /// A condition Tailor's own code guarantees did not hold: a bug in Tailor, not in the input.
    case internalError(String)

    public var description: String {
        switch self {
        case let .unknownKey(key, nearest):
            return "option '\(key)' is not a known option; did you mean '\(nearest)'? (see tailor train --help)"
        case let .wrongValueType(key, expected, got):
            return "option '\(key)' must be \(expected) (got \(got))"
        case let .invalidValue(key, problem), let .conflictingKeys(key, _, problem):
            return "option '\(key)' \(problem)"
        case let .missingKey(key, hint):
            return "option '\(key)' is required: \(hint)"
        case let .unwritableFolder(key, path, reason):
            return "option '\(key)': \(path) cannot be written (\(reason)); choose a writable folder"
        case let .folderInUse(path, pid):
            return "option 'output_dir': \(path) is in use by another tailor train (\(pid.map { "PID \($0)" } ?? "a process")"
                + " holds \(OutputFolder.lockFileName)); wait for it to finish or stop it, or choose another output_dir"
        case let .interrupted(step, checkpoint):
            return "interrupted after step \(step); its state is saved in \(checkpoint): resume with resume_from_checkpoint: \(checkpoint) (or latest)"
        case let .checkpoint(path, problem):
            return "resume_from_checkpoint: \(path) \(problem)"
        case let .unusableData(problem):
            return "training data: \(problem)"
        case let .nothingToTrain(problem):
            return "nothing to train: \(problem)"
        case let .adapterWeight(name, file, problem):
            return "\(file): adapter weight '\(name)' \(problem)"
        case let .distributed(problem):
            return "distributed training: \(problem)"
        case let .notImplemented(what):
            return "\(what) is not implemented in Tailor yet"
        case let .nonFiniteLoss(step, value):
            return "the loss became \(value) at step \(step); lower the learning rate or check the data"
        case let .tokenOutOfVocabulary(sample, field, id, vocabSize):
            return "\(sample): \(field) is \(id), outside the model's vocabulary (vocab_size \(vocabSize): ids 0 to \(vocabSize - 1)); was the data tokenized with another model's tokenizer?"
        case let .internalError(what):
            return "internal error (a bug in Tailor, please report it): \(what)"
        }
    }
}
