import ArgumentParser
import Foundation
import TailorModels
import TailorTensor
import TailorTraining
import Yams

struct TrainCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Fine-tune a model with LoRA or full fine-tuning (SFT), as transformers.Trainer + peft would.",
        usage: "tailor train [config.yaml] [--dry-run] [--<option> <value> ...]",
        discussion: """
        Options come from a YAML file and/or --flags named as in transformers'
        TrainingArguments, peft's LoraConfig, TRL's SFTConfig and LLaMA-Factory
        (flags override the file; old and new spellings in parentheses):
          tailor train --model_name_or_path M --dataset data.json --output_dir out \\
            --r 16 --lora_alpha 32 --learning_rate 2e-4 --num_train_epochs 3

        Model and data
          model_name_or_path (model)  HF model folder, or a .gguf file (imported
                                      once into ~/.cache/tailor as f32)
          dataset (train_file)        JSON/JSONL/CSV files, folders or globs
          dataset_format              alpaca|sharegpt|messages|text|tokenized
                                      (detected; tokenized: records of
                                      input_ids, optional labels (-100 = not
                                      trained; absent: all trained), TRL's
                                      completion_mask / assistant_masks (0
                                      masks a label) and attention_mask (right
                                      padding dropped); no tokenizer or chat
                                      template needed)
          template                    built-in chat template: alpaca, chatml,
                                      qwen, llama3, llama2, mistral, deepseek
          system_prompt (system)      system turn for samples without one
          validation_file             evaluation data file
          validation_split (val_size) fraction held out for evaluation (0)
          max_seq_length (max_length, cutoff_len)  tokens per sample (1024)
          packing                     several samples per row (false)
          train_on_inputs             learn prompt tokens too (false)
        Adapter (finetuning_type: lora, or full)
          r (lora_r, lora_rank) 8     lora_alpha 16     lora_dropout 0
          target_modules all-linear | names | regex     use_rslora false
          layers_to_transform (all)   init_lora_weights true | gaussian | false
          bias none | all | lora_only (trains biases beside LoRA)
          modules_to_save (none)      e.g. [embed_tokens, lm_head]: trained full
                                      copies; ensure_weight_tying false
          adapter_name_or_path (none) a peft adapter folder to start from: its
                                      adapter_config.json sets r, alpha, targets
                                      (a differing value given here is an
                                      error), lora_dropout applies; with
                                      resume_from_checkpoint the checkpoint wins
        Training (TrainingArguments' defaults)
          output_dir output           num_train_epochs 3     max_steps -1
          per_device_train_batch_size 8    per_device_eval_batch_size 8
          gradient_accumulation_steps 1    learning_rate 5e-5
          weight_decay 0   adam_beta1 0.9   adam_beta2 0.999   adam_epsilon 1e-8
          max_grad_norm 1   seed 42   logging_steps 500   shuffle true
          optim adamw_torch | adamw_torch_fused | sgd
          optim_args (sgd) "momentum=0.9,dampening=0,nesterov=True" (none)
          train_sampling_strategy (group_by_length: true)
                            random | sequential | group_by_length (random)
          lr_scheduler_type linear | cosine | cosine_with_restarts | polynomial |
                            constant | constant_with_warmup | inverse_sqrt
          warmup_steps 0 (below 1: a ratio)   warmup_ratio 0
          eval_strategy no|steps|epoch   eval_steps (logging_steps)
          save_strategy steps   save_steps 500   save_total_limit (none)
          gradient_checkpointing false   resume_from_checkpoint PATH | latest
        Device
          device cpu | cuda | auto (cpu; auto falls back to cpu, saying why)
          use_cpu, no_cuda: true means device cpu
          bf16 true: on cuda, products with bf16 weights take bf16 activations
                     (f32 accumulation) and the MLP's gate/up activations are
                     kept as bf16; false: fp32, the CPU's numbers

        Keys that mean nothing here (report_to, fp16, dataloader_num_workers,
        ...) are accepted with a warning; an unknown key is an error naming the
        nearest one. Writes to output_dir: the adapter (peft layout) or model,
        checkpoint-N/, metrics.jsonl, runs/ (TensorBoard), loss.png, loss.svg,
        trainer_state.json, tailor_config.yaml.
        """
    )

    @Flag(name: .customLong("dry-run"), help: "Print the resolved options, trainable parameters and a memory estimate; train nothing.")
    var dryRun = false

    @Argument(parsing: .captureForPassthrough,
              help: ArgumentHelp("A YAML file of options (optional), then --<option> <value> pairs (see below).", valueName: "config.yaml | --option value"))
    var arguments: [String] = []

    func run() async throws {
        var rest = arguments
        if rest.contains("--help") || rest.contains("-h") {
            print(Self.helpMessage())
            return
        }
        var dryRun = self.dryRun
        if let index = rest.firstIndex(of: "--dry-run") {
            rest.remove(at: index)
            dryRun = true
        }
        var pairs: [(String, RecipeValue)] = []
        if let first = rest.first, !first.hasPrefix("--") {
            pairs += try Self.readYAML(first)
            rest.removeFirst()
        }
        pairs += try Self.parseFlags(rest)
        var recipe = TrainRecipe()
        for (key, value) in pairs {
            if let warning = try RecipeKeys.apply(key, value, to: &recipe) { printError("warning: \(warning)") }
        }
        guard !recipe.modelNameOrPath.isEmpty else {
            throw ValidationError("model_name_or_path is required (a Hugging Face model folder)")
        }
        try TrainRun(recipe: recipe, dryRun: dryRun).run()
    }

    /// `--key value`, `--key=value`, a bare `--flag` (true), and `--key v1 v2 ...` (a list, as
    /// HfArgumentParser reads `--target_modules q_proj v_proj`).
    static func parseFlags(_ arguments: [String]) throws -> [(String, RecipeValue)] {
        var result: [(String, RecipeValue)] = []
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            guard argument.hasPrefix("--") else {
                throw ValidationError("unexpected argument '\(argument)'; options are written --name value")
            }
            var name = String(argument.dropFirst(2))
            var values: [String] = []
            if let equals = name.firstIndex(of: "=") {
                values = [String(name[name.index(after: equals)...])]
                name = String(name[..<equals])
            } else {
                while index + 1 < arguments.count, !arguments[index + 1].hasPrefix("--") {
                    values.append(arguments[index + 1])
                    index += 1
                }
            }
            name = name.replacingOccurrences(of: "-", with: "_")
            switch values.count {
            case 0: result.append((name, .bool(true)))
            case 1: result.append((name, Self.scalar(values[0])))
            default: result.append((name, .list(values)))
            }
            index += 1
        }
        return result
    }

    static func scalar(_ text: String) -> RecipeValue {
        if let number = Double(text) { return .number(number) }
        if text == "true" || text == "false" { return .bool(text == "true") }
        if text == "null" || text == "None" { return .null }
        return .string(text)
    }

    static func readYAML(_ path: String) throws -> [(String, RecipeValue)] {
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw ValidationError("\(path): cannot be read (\(error.localizedDescription))")
        }
        let node: Node?
        do { node = try Yams.compose(yaml: text) } catch {
            throw ValidationError("\(path): not valid YAML: \(error)")
        }
        guard let mapping = node?.mapping else { throw ValidationError("\(path): expected a mapping of option: value") }
        return try mapping.map { key, value in
            guard let name = key.string else { throw ValidationError("\(path): keys must be strings (line \(key.mark?.line ?? 0))") }
            return (name, try recipeValue(value, path: path, key: name))
        }
    }

    static func recipeValue(_ node: Node, path: String, key: String) throws -> RecipeValue {
        switch node {
        case let .scalar(scalar):
            if scalar.style == .plain {
                if let bool = node.bool { return .bool(bool) }
                if let int = node.int { return .number(Double(int)) }
                if let float = node.float { return .number(float) }
                if node.null != nil { return .null }
            }
            return .string(scalar.string)
        case let .sequence(sequence):
            return .list(try sequence.map { item in
                guard let text = item.string else { throw ValidationError("\(path): '\(key)' must be a list of plain values") }
                return text
            })
        default:
            throw ValidationError("\(path): '\(key)' must be a value or a list (line \(node.mark?.line ?? 0))")
        }
    }
}

/// Writes a line to standard error.
func printError(_ line: String) {
    FileHandle.standardError.write(Data((line + "\n").utf8))
}
