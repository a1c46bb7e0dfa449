import Foundation
import TailorJSON

/// ZeRO-style sharding of a data-parallel run, from a DeepSpeed JSON file (`deepspeed: ds_config.json`,
/// as transformers and LLaMA-Factory users have them) or FSDP's names (`fsdp: shard_grad_op`).
///
/// Stage 1 shards the optimizer state: each rank keeps AdamW's moments of its own parameters only,
/// updates those, and broadcasts them. Stage 2 also shards the summed gradients: each gradient is
/// reduced to its owner alone (not all-reduced), and the clipping norm is summed from the shards.
/// Parameters are dealt to ranks as contiguous runs of whole tensors of about equal size. Stage 3
/// (parameters sharded) is not built.
public struct ShardingSettings: Sendable, Equatable {
    /// 0: plain data parallelism (every rank holds everything).
    public var stage = 0
    /// Elements per gradient bucket (DeepSpeed's reduce_bucket_size; DDP's 25 MB by default).
    public var bucketElements: Int?
    /// DeepSpeed's own values of TrainingArguments' keys ("auto" leaves them out), checked by `validate`.
    public var microBatch: Int?
    public var accumulation: Int?
    public var clipping: Double?
    /// Keys of the file that change nothing here, named.
    public var warnings: [String] = []
    /// The file, for messages.
    public var source: String?

    public init() {}

    /// The sharding a DeepSpeed JSON file asks for.
    /// - Throws: `TrainingError.invalidValue` naming the file and key (unreadable file, bad JSON, a
    ///   stage other than 0–3), `.notImplemented` for stage 3.
    public static func deepSpeed(file path: String, key: String = "deepspeed") throws -> ShardingSettings {
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw TrainingError.invalidValue(key: key, problem: "\(path) cannot be read (\(error.localizedDescription)); give the path of a DeepSpeed JSON config")
        }
        let root: JSONValue
        do { root = try JSONValue(parsing: text, file: path) } catch {
            throw TrainingError.invalidValue(key: key, problem: "\(error)")
        }
        guard let object = root.objectValue else { throw TrainingError.invalidValue(key: key, problem: "\(path): expected a JSON object") }
        var settings = ShardingSettings()
        settings.source = path
        func number(_ name: String, in object: JSONObject) throws -> Double? {
            guard let value = object[name], value.stringValue != "auto", !value.isNull else { return nil }
            guard let number = value.doubleValue else {
                throw TrainingError.invalidValue(key: key, problem: "\(path): \(name) must be a number or \"auto\" (got \(value.typeName))")
            }
            return number
        }
        func count(_ name: String, in object: JSONObject) throws -> Int? {
            guard let value = try number(name, in: object) else { return nil }
            guard let whole = Int(exactly: value), whole > 0 else {
                throw TrainingError.invalidValue(key: key, problem: "\(path): \(name) must be a positive integer or \"auto\" (got \(value))")
            }
            return whole
        }
        settings.microBatch = try count("train_micro_batch_size_per_gpu", in: object)
        settings.accumulation = try count("gradient_accumulation_steps", in: object)
        settings.clipping = try number("gradient_clipping", in: object)
        for (name, value) in object {
            switch name {
            case "train_micro_batch_size_per_gpu", "gradient_accumulation_steps", "gradient_clipping", "zero_optimization",
                 "train_batch_size", "zero_allow_untested_optimizer", "steps_per_print", "wall_clock_breakdown":
                continue
            case "fp16", "bf16":
                if value.objectValue?["enabled"]?.boolValue == true {
                    settings.warnings.append("\(path): \(name).enabled has no effect; the precision comes from the recipe's bf16 key")
                }
            default:
                settings.warnings.append("\(path): \(name) has no effect in Tailor (the recipe's own keys set the optimizer, schedule and precision)")
            }
        }
        guard let zero = object["zero_optimization"]?.objectValue else { return settings }
        if let stage = zero["stage"] {
            guard let value = stage.integralValue, (0...3).contains(value) else {
                throw TrainingError.invalidValue(key: key, problem: "\(path): zero_optimization.stage must be 0, 1, 2 or 3 (got \(stage))")
            }
            guard value < 3 else {
                throw TrainingError.notImplemented("\(path): zero_optimization.stage 3 (parameters sharded over the ranks); use stage 2 or 1")
            }
            settings.stage = value
        }
        if let bucket = try number("reduce_bucket_size", in: zero) {
            guard let elements = Int(exactly: bucket.rounded()), elements > 0 else {
                throw TrainingError.invalidValue(key: key, problem: "\(path): zero_optimization.reduce_bucket_size must be a positive count (got \(bucket))")
            }
            settings.bucketElements = elements
        }
        for (name, value) in zero {
            switch name {
            case "stage", "reduce_bucket_size", "allgather_partitions", "allgather_bucket_size", "reduce_scatter", "contiguous_gradients",
                 "overlap_comm", "round_robin_gradients":
                continue  // how DeepSpeed moves the same numbers; Tailor's own way gives them too
            case "offload_optimizer", "offload_param":
                if let device = value.objectValue?["device"]?.stringValue, device != "none" {
                    settings.warnings.append("\(path): zero_optimization.\(name) to \(device) is not built: the state stays where the run computes")
                }
            default:
                settings.warnings.append("\(path): zero_optimization.\(name) has no effect in Tailor")
            }
        }
        return settings
    }

    /// FSDP's sharding strategy names (transformers' `fsdp` key: "full_shard auto_wrap", ...).
    /// - Throws: `.notImplemented` for full_shard / hybrid_shard (parameters sharded), `.invalidValue` for other words.
    public static func fsdp(_ text: String, key: String = "fsdp") throws -> ShardingSettings {
        var settings = ShardingSettings()
        for word in text.split(whereSeparator: { $0 == " " || $0 == "," }) {
            switch word {
            case "shard_grad_op": settings.stage = 2
            case "no_shard": settings.stage = 0
            case "full_shard", "hybrid_shard", "hybrid_shard_zero2":
                throw TrainingError.notImplemented("\(key): \(word) (parameters sharded over the ranks, ZeRO stage 3); use shard_grad_op (stage 2)")
            case "offload", "auto_wrap":
                settings.warnings.append("\(key): \(word) has no effect in Tailor")
            default:
                throw TrainingError.invalidValue(key: key, problem: "`\(word)` is not an FSDP option (shard_grad_op, no_shard, full_shard, offload, auto_wrap)")
            }
        }
        return settings
    }

    /// The file's values of the recipe's own keys must be the recipe's.
    func validate(against training: TrainingArguments) throws {
        let file = source ?? "the DeepSpeed config"
        if let microBatch, microBatch != training.perDeviceTrainBatchSize {
            throw TrainingError.conflictingKeys(key: "deepspeed", other: "per_device_train_batch_size",
                                                problem: "\(file) sets train_micro_batch_size_per_gpu \(microBatch) but the recipe has \(training.perDeviceTrainBatchSize); write \"auto\" in the file or make them equal")
        }
        if let accumulation, accumulation != training.gradientAccumulationSteps {
            throw TrainingError.conflictingKeys(key: "deepspeed", other: "gradient_accumulation_steps",
                                                problem: "\(file) sets gradient_accumulation_steps \(accumulation) but the recipe has \(training.gradientAccumulationSteps); write \"auto\" in the file or make them equal")
        }
        if let clipping, clipping != training.maxGradNorm {
            throw TrainingError.conflictingKeys(key: "deepspeed", other: "max_grad_norm",
                                                problem: "\(file) sets gradient_clipping \(clipping) but the recipe has max_grad_norm \(training.maxGradNorm); write \"auto\" in the file or make them equal")
        }
    }
}
