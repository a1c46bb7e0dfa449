import TailorData

/// The recipe keys `tailor train` accepts, with the names users know from TrainingArguments,
/// LoraConfig, TRL's SFTConfig and LLaMA-Factory. This table is the one place a key is written:
/// `apply` (YAML and --flags), the nearest-name suggestion, the keys accepted without effect,
/// tailor_config.yaml (`RecipeYAML`) and `tailor train --help` (`RecipeHelp`) all read it.
/// Order matters only for the help and the YAML, which list keys as the table does.
public enum RecipeKeys {
    public static let table: [RecipeKey] = [
        section(.model, [
            .text("model_name_or_path", aliases: ["model"], \.modelNameOrPath, required: "a Hugging Face model folder, a .gguf file or a hub id ORG/NAME",
                  "HF model folder, or a .gguf file (imported once into ~/.cache/tailor as f32)"),
            .text("model_revision", \.modelRevision, "the hub revision (branch, tag or commit) of a hub id model_name_or_path (hub id"
                  + " datasets are read at main); recorded as the adapter's revision"),
        ]),
        section(.data, [
            .list("dataset", aliases: ["train_file", "data_files", "data_path", "dataset_path", "datasets"], \.datasets, quoted: true,
                  required: "give one or more data files (JSON, JSONL, CSV)", "JSON/JSONL/CSV files, folders or globs"),
        ] + encodingKeys + [
            .text("validation_file", aliases: ["eval_file", "eval_dataset"], \.validationFile, "evaluation data file"),
            .fraction("validation_split", aliases: ["val_size"], \.validationSplit,
                      "fraction of the training data held out for evaluation"),
            RecipeKey("validation_split_percentage", type: .number, help: "the same held-out share as a percentage, as transformers'"
                      + " example scripts take it (5 means validation_split 0.05)", unset: "0",
                      read: { value, key, recipe in
                          let percent = try value.number(key)
                          guard percent >= 0 && percent < 100 else {
                              throw TrainingError.invalidValue(key: key, problem: "must be a percentage from 0 up to 100 (got \(value))")
                          }
                          recipe.validationSplit = percent / 100
                      }, yaml: { _ in nil }, written: { _ in false }),
            .text("dataset_dir", \.datasetDir, unset: "data",
                  "LLaMA-Factory's folder whose dataset_info.json resolves dataset names (dataset: identity,alpaca_en_demo)"),
            .integer("max_samples", \.maxSamples, min: 1, nullable: true, unset: "all",
                     "only the first N records of each dataset (LLaMA-Factory's cut for quick runs)"),
            .bool("packing", \.packing, "several samples per row"),
        ]),
        section(.method, [
            RecipeKey("stage", type: .choice(TrainRecipe.Stage.allCases.map(\.rawValue)),
                      help: "LLaMA-Factory's training stage: sft, pt (plain text, every token trained; the data's format decides the"
                          + " labels either way), dpo (preference pairs: prompt, chosen, rejected) or kto (unpaired examples with a"
                          + " boolean label); rm and ppo are not built yet",
                      unset: "sft", read: { value, key, recipe in recipe.stage = try stage(value, key) },
                      yaml: { $0.stage == .sft ? nil : $0.stage.rawValue }),
            .choice("finetuning_type", aliases: ["finetuning_method"], \.finetuningType,
                    "train an adapter beside the frozen model, or every weight"),
            RecipeKey("peft_type", type: .choice(TrainRecipe.PeftType.allCases.map(\.rawValue)),
                      help: "the adapter, as peft names it: LORA, IA3 (IA³: a learned vector scales each target Linear's"
                          + " output, or a feed-forward one's input; LLaMA-Factory has no finetuning_type for it), ADALORA"
                          + " (AdaLoRA: an SVD-shaped update per target whose ranks are pruned while training), PROMPT_TUNING"
                          + " (learned embeddings of num_virtual_tokens virtual tokens put before every sequence) or PREFIX_TUNING"
                          + " (learned keys and values of num_virtual_tokens positions in front of every layer's) or P_TUNING"
                          + " (the virtual tokens' embeddings computed by a trained MLP prompt encoder)",
                      unset: "LORA", read: { value, key, recipe in recipe.peftType = try peftType(value, key) },
                      yaml: { $0.peftType == .lora ? nil : $0.peftType.rawValue }),
            RecipeKey("quantization_bit", type: .forms("4 | null | false"),
                      help: "LLaMA-Factory's QLoRA: 4 stores the frozen linears in 4 bits (bitsandbytes' NF4 with double"
                          + " quantization unless quantization_type / double_quantization say otherwise); 8 is not built yet",
                      unset: "none", read: { value, key, recipe in try quantizationBit(value, key, &recipe) },
                      yaml: { $0.quantization.defaults == .llamaFactory ? "4" : nil }),
            .ignored("quantization_method", "bitsandbytes is the method quantization_bit / load_in_4bit use"),
            RecipeKey("load_in_4bit", type: .bool,
                      help: "transformers' BitsAndBytesConfig(load_in_4bit=True): QLoRA with its defaults (fp4, no double"
                          + " quantization) unless bnb_4bit_quant_type / bnb_4bit_use_double_quant say otherwise",
                      unset: "false", read: { value, key, recipe in try loadIn4Bit(value, key, &recipe) },
                      yaml: { $0.quantization.defaults == .transformers ? "true" : nil }),
            RecipeKey("load_in_8bit", type: .forms("false"), help: "LLM.int8 frozen weights: not built yet, so only false is accepted",
                      unset: "false", read: { value, key, _ in try loadIn8Bit(value, key) }, yaml: { _ in nil }, written: { _ in false }),
            RecipeKey("quantization_type", aliases: ["bnb_4bit_quant_type"], type: .choice(["nf4", "fp4"]),
                      help: "the 4-bit format: nf4 (NormalFloat) or fp4", unset: "nf4 with quantization_bit, fp4 with load_in_4bit",
                      read: { value, key, recipe in recipe.quantization.format = try quantType(value, key) },
                      yaml: { $0.quantization.format?.rawValue }),
            RecipeKey("double_quantization", aliases: ["bnb_4bit_use_double_quant"], type: .bool,
                      help: "quantize the 4-bit blocks' absmax values again (8-bit, blocks of 256): 4.127 instead of 4.5 bits per weight",
                      unset: "true with quantization_bit, false with load_in_4bit",
                      read: { value, key, recipe in recipe.quantization.doubleQuant = try value.bool(key) },
                      yaml: { $0.quantization.doubleQuant.map { "\($0)" } }),
            RecipeKey("bnb_4bit_compute_dtype", type: .choice(["float32", "bfloat16", "float16"]),
                      help: "the dtype 4-bit products compute in; on the CPU they follow bf16 as every product does (bf16 where the CPU has bf16 products, else float32) for float32 and bfloat16 alike; float16 is refused",
                      unset: "float32", read: { value, key, recipe in recipe.quantization.computeDType = try computeDType(value, key) },
                      yaml: { $0.quantization.computeDType.map { $0 == .f32 ? "float32" : $0 == .bf16 ? "bfloat16" : "float16" } }),
            RecipeKey("bnb_4bit_quant_storage", type: .choice(["uint8", "float16", "bfloat16", "float32"]),
                      help: "the dtype bitsandbytes views packed 4-bit codes as (for FSDP); the bytes and results are the same",
                      unset: "uint8", read: { value, key, _ in try quantStorage(value, key) }, yaml: { _ in nil }, written: { _ in false }),
        ]),
        section(.lora, [
            .text("adapter_name_or_path", \.adapterNameOrPath, nullable: true, unset: "a fresh adapter",
                  "a peft adapter folder to start from: its adapter_config.json sets r, lora_alpha and the targets (a"
                  + " differing value given here is an error), lora_dropout applies; with resume_from_checkpoint the checkpoint wins"),
            .integer("r", aliases: ["lora_r", "lora_rank"], \.lora.r, min: 1, "LoRA rank"),
            .number("lora_alpha", \.lora.loraAlpha, "LoRA scale numerator: the update is scaled by lora_alpha / r"),
            .fraction("lora_dropout", \.lora.loraDropout, "dropout on the adapters' input"),
            RecipeKey("target_modules", aliases: ["lora_target"], type: .forms("all-linear | names | regex"),
                      help: "the Linear layers to adapt: all-linear (every one but the output layer; LLaMA-Factory: all), a list of names, or a regular expression",
                      read: { value, key, recipe in recipe.lora.targetModules = try targetModules(value, key) },
                      yaml: { targetModulesYAML($0.lora.targetModules) }),
            .bool("use_rslora", \.lora.useRslora, "rank-stabilized scale lora_alpha / √r"),
            RecipeKey("layers_to_transform", type: .list, help: "layer numbers to adapt", unset: "all",
                      read: { value, key, recipe in recipe.lora.layersToTransform = try layerNumbers(value, key) },
                      yaml: { $0.lora.layersToTransform.map { "\($0)" } }),
            RecipeKey("init_lora_weights", type: .forms("true | gaussian | false | pissa | pissa_niter_K | olora"),
                      help: "true (kaiming-uniform A, zero B), gaussian (normal A, zero B), false (no LoRA init), pissa (A, B from"
                          + " the top-r SVD of each weight, the weight adjusted), pissa_niter_K (the same by a randomized SVD) or olora (from its QR)",
                      read: { value, key, recipe in recipe.lora.initLoraWeights = try loraInit(value, key) },
                      yaml: { $0.lora.initLoraWeights.name }),
            .choice("bias", \.lora.bias, "biases trained beside LoRA"),
            .list("modules_to_save", \.lora.modulesToSave, quoted: false, nullable: true,
                  "modules trained as full copies, e.g. [embed_tokens, lm_head]"),
            .bool("ensure_weight_tying", \.lora.ensureWeightTying,
                  "with tied embeddings, embed_tokens and lm_head in modules_to_save share one trained copy",
                  written: { !$0.lora.modulesToSave.isEmpty }),
            .bool("use_dora", \.lora.useDora, "DoRA: each adapted Linear also trains a magnitude per output row (peft's use_dora)",
                  written: { $0.lora.useDora }),
            RecipeKey("rank_pattern", type: .forms("{pattern: r, ...}"),
                      help: "per-module ranks, as peft's rank_pattern: each key a regular expression matched against the end of a"
                          + " module's name (q_proj, layers\\.0\\..*), the first match wins", unset: "{}",
                      read: { value, key, recipe in
                          recipe.lora.rankPattern = try modulePatterns(value, key).map { pattern, number in
                              guard number.rounded() == number, number >= 1, number < 1e9 else {
                                  throw TrainingError.invalidValue(key: key, problem: "gives '\(pattern)' rank \(number); a rank must be a positive integer")
                              }
                              return (pattern, Int(number))  // allowed: a whole number in [1, 1e9) checked just before
                          }
                      },
                      yaml: { modulePatternsYAML($0.lora.rankPattern.map { ($0.pattern, Double($0.value)) }) },
                      written: { !$0.lora.rankPattern.isEmpty }),
            RecipeKey("alpha_pattern", type: .forms("{pattern: lora_alpha, ...}"),
                      help: "per-module lora_alpha, as peft's alpha_pattern (keys matched as rank_pattern's)", unset: "{}",
                      read: { value, key, recipe in recipe.lora.alphaPattern = try modulePatterns(value, key).map { ($0, $1) } },
                      yaml: { modulePatternsYAML($0.lora.alphaPattern) }, written: { !$0.lora.alphaPattern.isEmpty }),
            RecipeKey("pissa_init", type: .bool,
                      help: "LLaMA-Factory's PiSSA switch: init_lora_weights pissa_niter_<pissa_iter> (pissa with pissa_iter -1);"
                          + " given with a different init_lora_weights it is an error",
                      read: { value, key, recipe in recipe.pissa.initialize = try value.bool(key); recipe.applyPiSSAKeys() },
                      yaml: { "\($0.pissa.initialize)" }, written: { $0.pissa.initialize }),
            RecipeKey("pissa_iter", type: .integer(min: -1),
                      help: "with pissa_init: the randomized SVD's power iterations (LLaMA-Factory's default 16); -1 the exact SVD",
                      unset: "16",
                      read: { value, key, recipe in recipe.pissa.iterations = try value.integer(key, min: -1); recipe.applyPiSSAKeys() },
                      yaml: { "\($0.pissa.iterations)" }, written: { $0.pissa.initialize }),
            RecipeKey("pissa_convert", type: .bool,
                      help: "PiSSA / OLoRA: also save output_dir/pissa_init (the initial adapter) and output_dir/pissa_converted (the"
                          + " trained adapter as a plain LoRA of rank 2r on the original base, peft's path_initial_model_for_weight_conversion)",
                      read: { value, key, recipe in recipe.pissa.convert = try value.bool(key) },
                      yaml: { "\($0.pissa.convert)" }, written: { $0.pissa.convert }),
            .number("loraplus_lr_ratio", \.training.loraPlusLRRatio, nullable: true, unset: "off",
                    "LoRA+ (LLaMA-Factory's key; peft's create_loraplus_optimizer): lora_B matrices and other 1-D tensors train at"
                    + " learning_rate × this ratio"),
            RecipeKey("loraplus_lr_embedding", type: .number,
                      help: "LoRA+: the learning rate of LoRA on embedding layers (peft's default 1e-6); Tailor adapts no embedding"
                          + " with LoRA, so it has nothing to set", unset: "1e-6",
                      read: { value, key, recipe in recipe.training.loraPlusLREmbedding = try value.number(key) },
                      yaml: { "\($0.training.loraPlusLREmbedding)" }, written: { $0.training.loraPlusLRRatio != nil }),
        ]),
        section(.ia3, [
            RecipeKey("feedforward_modules", type: .forms("names | regex"),
                      help: "the targets that scale their input (peft's feedforward_modules): names a module's name ends with,"
                          + " or a regular expression matching its whole name; a subset of target_modules",
                      unset: "peft's default for the model, down_proj",
                      read: { value, key, recipe in recipe.ia3.feedforwardModules = value == .null ? nil : try targetModules(value, key) },
                      yaml: { $0.ia3.feedforwardModules.map(targetModulesYAML) }),
            .bool("init_ia3_weights", \.ia3.initIA3Weights, "start every IA³ vector at ones (false: random normal, as peft's torch.randn)",
                  written: { !$0.ia3.initIA3Weights }),
        ]),
        section(.adalora, [
            .integer("init_r", \.adalora.initR, min: 1, "AdaLoRA: the rank every target starts with"),
            .integer("target_r", \.adalora.targetR, min: 0, "AdaLoRA: the average rank per target after the budget schedule (at most init_r)"),
            .integer("tinit", \.adalora.tinit, min: 0, "AdaLoRA: warm-up steps before ranks are pruned"),
            .integer("tfinal", \.adalora.tfinal, min: 0, "AdaLoRA: last steps with the final ranks fixed"),
            .integer("deltaT", \.adalora.deltaT, min: 1, "AdaLoRA: steps between two rank allocations while the budget falls"),
            .number("beta1", \.adalora.beta1, "AdaLoRA: EMA factor of the sensitivity scores"),
            .number("beta2", \.adalora.beta2, "AdaLoRA: EMA factor of their uncertainty"),
            .number("orth_reg_weight", \.adalora.orthRegWeight, "AdaLoRA: weight of the orthogonal regulariser added to the loss"),
            .integer("total_step", \.adalora.totalStep, min: 1, unset: "the run's step count",
                     "AdaLoRA: the total optimizer steps the budget schedule plans for (peft requires it)"),
        ]),
        section(.promptTuning, [
            .integer("num_virtual_tokens", \.promptTuning.numVirtualTokens, min: 1, unset: "required",
                     "the virtual tokens put before every sequence (their positions come first; the sequence's own follow)"
                     + " — PROMPT_TUNING's and P_TUNING's embeddings, PREFIX_TUNING's keys and values"),
            .choice("prompt_tuning_init", \.promptTuning.initialization,
                    "PROMPT_TUNING: where their embeddings start: RANDOM (normal, std 1, as torch.nn.Embedding), TEXT (the embeddings of"
                    + " prompt_tuning_init_text's tokens, cut or repeated to num_virtual_tokens), SAMPLE_VOCAB (of random vocabulary tokens)"),
            .text("prompt_tuning_init_text", \.promptTuning.initText, unset: "none", "TEXT's text"),
            .text("tokenizer_name_or_path", \.promptTuning.tokenizerNameOrPath, unset: "the model's",
                  "the tokenizer folder TEXT tokenizes with (recorded in adapter_config.json)"),
            .integer("encoder_hidden_size", \.promptTuning.encoderHiddenSize, min: 1, unset: "peft's token_dim",
                     "P_TUNING, PREFIX_TUNING with prefix_projection: the width of the encoder that computes the virtual tokens"
                     + " (unset: the model's hidden_size for P_TUNING, its key/value width for a prefix)"),
            RecipeKey("encoder_reparameterization_type", type: .choice(["MLP", "LSTM"]),
                      help: "P_TUNING: the prompt encoder, MLP (peft's default: Linear, ReLU, Linear, ReLU, Linear) or LSTM"
                          + " (a bidirectional LSTM of encoder_num_layers layers, then Linear, ReLU, Linear)",
                      unset: "MLP", read: { value, key, recipe in recipe.promptTuning.encoderReparameterizationType = try value.text(key).uppercased() },
                      yaml: { $0.promptTuning.encoderReparameterizationType == "MLP" ? nil : $0.promptTuning.encoderReparameterizationType }),
            RecipeKey("encoder_num_layers", type: .integer(min: 1), help: "P_TUNING with LSTM: the LSTM's layers (the MLP always has 2)",
                      read: { value, key, recipe in recipe.promptTuning.encoderNumLayers = try value.integer(key, min: 1) },
                      yaml: { "\($0.promptTuning.encoderNumLayers)" }, written: { $0.promptTuning.encoderNumLayers != 2 }),
            RecipeKey("encoder_dropout", type: .number, help: "P_TUNING with LSTM: dropout between the LSTM's layers; only 0 (peft's default) is built",
                      read: { value, key, recipe in recipe.promptTuning.encoderDropout = try value.number(key) },
                      yaml: { "\($0.promptTuning.encoderDropout)" }, written: { $0.promptTuning.encoderDropout != 0 }),
            .bool("prefix_projection", \.promptTuning.prefixProjection,
                  "PREFIX_TUNING: compute the prefix while training with peft's PrefixEncoder (Embedding, Linear, Tanh, Linear"
                  + " of encoder_hidden_size); false trains the prefix as it is",
                  written: { $0.promptTuning.prefixProjection }),
        ]),
        section(.preference, [
            .number("beta", aliases: ["pref_beta"], \.preference.beta,
                    "DPO's β: how far the policy may move from the reference (IPO: its τ)"),
            RecipeKey("loss_type", aliases: ["pref_loss"], type: .choice(PreferenceSettings.Loss.allCases.map(\.rawValue)),
                      help: "the preference loss (TRL's names): DPO's sigmoid, hinge, ipo, robust, exo_pair (with label_smoothing),"
                          + " nca_pair, bco_pair, sppo_hard, apo_zero, apo_down, sigmoid_norm, sft, or a list of them summed with"
                          + " loss_weights; simpo (TRL's CPOTrainer: no reference; with simpo_gamma and cpo_alpha); orpo (TRL's"
                          + " ORPOTrainer: no reference; beta is its λ)", unset: "sigmoid",
                      read: { value, key, recipe in recipe.preference.losses = try preferenceLosses(value, key) },
                      yaml: { recipe in
                          let names = recipe.preference.losses.map(\.rawValue)
                          return names.count == 1 ? names[0] : "[" + names.joined(separator: ", ") + "]"
                      }),
            RecipeKey("loss_weights", type: .list, help: "one weight per loss_type, as TRL sums them", unset: "1 each",
                      read: { value, key, recipe in
                          if value == .null { recipe.preference.lossWeights = nil; return }
                          recipe.preference.lossWeights = try value.list(key).map { item in
                              guard let number = Double(item), number.isFinite else {
                                  throw TrainingError.invalidValue(key: key, problem: "must be a list of numbers (got '\(item)')")
                              }
                              return number
                          }
                      },
                      yaml: { $0.preference.lossWeights.map { "[" + $0.map { "\($0)" }.joined(separator: ", ") + "]" } }),
            .number("label_smoothing", aliases: ["dpo_label_smoothing"], \.preference.labelSmoothing,
                    "robust DPO's ε: the chance a pair's preference is flipped, in [0, 0.5)"),
            .number("pref_ftx", \.preference.ftx,
                    "DPO: add this weight × each pair's mean NLL per chosen reply token, as LLaMA-Factory's pref_ftx (0: none;"
                    + " ORPO and SimPO have their own NLL terms)"),
            .number("simpo_gamma", \.preference.simpoGamma, "SimPO's target reward margin γ"),
            .number("cpo_alpha", \.preference.cpoAlpha,
                    "SimPO: weight of CPOTrainer's NLL term on the chosen replies (TRL's default 1.0; 0 is pure SimPO, as"
                    + " LLaMA-Factory's simpo)"),
            .number("desirable_weight", aliases: ["kto_chosen_weight"], \.preference.desirableWeight,
                    "KTO: the weight of the desirable examples' losses"),
            .number("undesirable_weight", aliases: ["kto_rejected_weight"], \.preference.undesirableWeight,
                    "KTO: the weight of the undesirable examples' losses"),
            .bool("precompute_ref_log_probs", \.preference.precomputeRefLogProbs,
                  "compute the reference's log-probabilities once before the first step (kept in output_dir for a resume);"
                  + " always so with full fine-tuning or adapter_name_or_path, where the reference is the starting model"),
        ]),
        section(.training, [
            .text("output_dir", \.training.outputDir, "where the run writes (see below)"),
            .bool("overwrite_output_dir", \.training.overwriteOutputDir,
                  "true: replace the checkpoints, metrics.jsonl and runs/ another run left in output_dir; false refuses to"
                  + " start there unless resume_from_checkpoint continues it (transformers v5 dropped the key; Tailor keeps it"
                  + " with this meaning)", written: { $0.training.overwriteOutputDir }),
            .number("num_train_epochs", \.training.numTrainEpochs, "passes over the training data"),
            .integer("max_steps", \.training.maxSteps, min: -1, "optimizer steps; above 0 it overrides num_train_epochs"),
            .integer("per_device_train_batch_size", \.training.perDeviceTrainBatchSize, min: 1, "rows per micro-batch"),
            .integer("per_device_eval_batch_size", \.training.perDeviceEvalBatchSize, min: 1, "samples per evaluation batch"),
            .integer("gradient_accumulation_steps", \.training.gradientAccumulationSteps, min: 1, "micro-batches per optimizer step"),
            .bool("gradient_checkpointing", \.training.gradientCheckpointing,
                  "keep only each layer's input and recompute the rest in the backward pass (a 4-bit model turns it on unless"
                    + " given, as peft's prepare_model_for_kbit_training does)"),
            .choice("train_sampling_strategy", \.training.sampling, invalid: { name in
                "'\(name)' is not supported; use one of \(TrainingArguments.Sampling.allCases.map(\.rawValue).joined(separator: ", "))"
                    + " (batch_rebalance balances data-parallel ranks, which Tailor does not run)"
            }, "the order of the rows in each epoch"),
            .bool("shuffle", \.training.shuffle, "false: file order (train_sampling_strategy sequential)", written: { _ in false }),
            .bool("group_by_length", \.training.groupByLength, "transformers 4's train_sampling_strategy group_by_length",
                  written: { _ in false }),
            .integer("seed", \.training.seed, min: 0, "seeds the adapter's init, dropout, the row order and validation_split"),
            .number("ddp_timeout", \.training.ddpTimeout,
                    "seconds a data-parallel run (mpirun, tailor launch) waits in a collective for the other ranks before it stops, naming the failure"),
            RecipeKey("deepspeed", type: .text,
                      help: "a DeepSpeed JSON config: its zero_optimization.stage 1 (optimizer state) or 2 (and gradients) shards a"
                          + " data-parallel run over its ranks; stage 3 is not built; its other keys must be \"auto\" or equal the recipe's",
                      unset: "none", read: { value, key, recipe in
                          guard value != .null else { recipe.training.deepspeed = nil; recipe.training.sharding = ShardingSettings(); return }
                          let path = try value.text(key)
                          recipe.training.sharding = try ShardingSettings.deepSpeed(file: path, key: key)
                          recipe.training.deepspeed = path
                          recipe.training.fsdp = nil
                      }, yaml: { $0.training.deepspeed.map(RecipeYAML.quote) }),
            RecipeKey("fsdp", type: .text,
                      help: "FSDP's sharding strategy, for a data-parallel run: shard_grad_op (= ZeRO stage 2) or no_shard;"
                          + " full_shard (parameters sharded) is not built",
                      unset: "none", read: { value, key, recipe in
                          guard value != .null, let text = try? value.text(key), !text.isEmpty else { recipe.training.fsdp = nil; return }
                          recipe.training.sharding = try ShardingSettings.fsdp(text, key: key)
                          recipe.training.fsdp = text
                          recipe.training.deepspeed = nil
                      }, yaml: { $0.training.fsdp.map(RecipeYAML.quote) }),
        ]),
        section(.optimizer, [
            .number("learning_rate", \.training.learningRate, "the peak learning rate"),
            .number("weight_decay", \.training.weightDecay, "weight decay (not on biases and norm weights)"),
            .choice("optim", \.training.optim, invalid: { name in
                "'\(name)' is not an optimizer Tailor implements; use one of \(OptimizerName.supportedList)"
            }, "the optimizer"),
            .number("adam_beta1", \.training.adamBeta1, "AdamW's β1"),
            .number("adam_beta2", \.training.adamBeta2, "AdamW's β2"),
            .number("adam_epsilon", \.training.adamEpsilon, "AdamW's ε"),
            RecipeKey("optim_args", type: .text, help: #"optim sgd's settings, e.g. "momentum=0.9,dampening=0,nesterov=True""#,
                      read: { value, key, recipe in
                          if value == .null { recipe.training.optimArgs = nil; return }
                          let text = try value.text(key)
                          _ = try OptimArgs.parse(text)  // the form now; the keys once optim is known (TrainingArguments.validate)
                          recipe.training.optimArgs = text
                      },
                      yaml: { $0.training.optimArgs.map(RecipeYAML.quote) }),
            .number("max_grad_norm", \.training.maxGradNorm, "clips the gradients' global norm"),
            .choice("lr_scheduler_type", \.training.lrSchedulerType, "the learning-rate schedule"),
            RecipeKey("warmup_steps", type: .number, help: "steps of linear warmup; a number below 1 is a ratio (transformers 5)",
                      read: { value, key, recipe in
                          // transformers 5 folded warmup_ratio in: a float below 1 is a ratio.
                          let steps = try value.number(key)
                          if steps > 0 && steps < 1 {
                              recipe.training.warmupRatio = steps
                              recipe.training.warmupSteps = 0
                          } else {
                              recipe.training.warmupSteps = try value.integer(key, min: 0)
                          }
                      },
                      yaml: { "\($0.training.warmupSteps)" }),
            .fraction("warmup_ratio", \.training.warmupRatio, "warmup as a fraction of the steps"),
        ]),
        section(.checkpoints, [
            .integer("logging_steps", \.training.loggingSteps, min: 1, "steps per logged loss (console, metrics.jsonl, TensorBoard)"),
            .choice("eval_strategy", aliases: ["evaluation_strategy"], \.training.evalStrategy, falseMeans: .no, "when to evaluate"),
            .integer("eval_steps", \.training.evalSteps, min: 1, unset: "logging_steps", "steps between evaluations"),
            .bool("eval_on_start", \.training.evalOnStart, "evaluate once before the first step, as a sanity check"),
            .bool("predict_with_generate", \.predictWithGenerate, "each evaluation also answers the evaluation records' prompts"
                  + " (greedy, through the chat template) and logs bleu-4, rouge-1/2/l (LLaMA-Factory's; they need jieba's dictionary),"
                  + " sacrebleu-13a and rouge1/2/L against the records' replies (stage sft)"),
            .integer("eval_max_samples", \.evalMaxSamples, min: 1, nullable: true, unset: "all",
                     "evaluation records predict_with_generate answers, from the first"),
            .integer("max_new_tokens", \.maxNewTokens, min: 1, "most new tokens per predict_with_generate answer"),
            .choice("save_strategy", \.training.saveStrategy, falseMeans: .no, "when to write checkpoint-N/"),
            .integer("save_steps", \.training.saveSteps, min: 1, "steps between checkpoints"),
            .integer("save_total_limit", \.training.saveTotalLimit, min: 1, nullable: true, unset: "all kept",
                     "checkpoints kept; older ones are deleted"),
            RecipeKey("resume_from_checkpoint", type: .text, help: "a checkpoint-N folder, or latest (true: latest, as Trainer takes it)",
                      read: { value, key, recipe in
                          switch value {
                          case .null, .bool(false): recipe.resumeFromCheckpoint = nil
                          case .bool(true): recipe.resumeFromCheckpoint = "latest"
                          default: recipe.resumeFromCheckpoint = try value.text(key)
                          }
                      },
                      yaml: { $0.resumeFromCheckpoint.map(RecipeYAML.quote) }),
        ]),
        section(.device, [
            .choice("device", \.device, "where to compute; auto: cuda when a GPU is usable, else cpu, saying why"),
            RecipeKey("use_cpu", aliases: ["no_cuda"], type: .bool, help: "true means device cpu", unset: "false",
                      read: { value, key, recipe in if try value.bool(key) { recipe.device = .cpu } },
                      yaml: { _ in nil }, written: { _ in false }),
            .bool("bf16", \.bf16, "products with bf16 weights take bf16 activations (f32 accumulation), on cuda and on a CPU with"
                  + " AMX or AVX512-BF16 (elsewhere fp32, said in the header); there an adapter run rounds an f32 folder's frozen"
                  + " linears to bf16 at load, as autocast does at each product; on cuda the MLP's gate/up activations are kept"
                  + " as bf16; false: fp32, the reference numbers"),
        ]),
        section(.ignored, [
            .ignored("report_to", "Tailor always writes metrics.jsonl and TensorBoard events"),
            .ignored("dataloader_num_workers", "data is prepared before training on all cores"),
            .ignored("dataloader_pin_memory", "not applicable on the CPU"),
            .ignored("fp16", "Tailor computes in fp32, or bf16 with bf16: true on cuda"),
            .ignored("tf32", "not applicable"),
            .ignored("logging_dir", "TensorBoard events go to output_dir/runs"),
            .ignored("run_name", "not used"),
            .ignored("do_train", "tailor train always trains"),
            .ignored("do_eval", "set eval_strategy instead"),
            .ignored("push_to_hub", "Tailor does not upload"),
            .ignored("hub_model_id", "Tailor does not upload"),
            .ignored("ddp_find_unused_parameters", "not applicable"),
            .ignored("torch_compile", "not applicable"),
            .ignored("remove_unused_columns", "not applicable"),
            .ignored("label_names", "not applicable"),
            .ignored("load_best_model_at_end", "not implemented; the last model is saved"),
            .ignored("metric_for_best_model", "not implemented"),
            .ignored("greater_is_better", "not implemented"),
            .ignored("logging_first_step", "not used"),
            .ignored("save_safetensors", "Tailor always writes safetensors"),
            .ignored("gradient_checkpointing_kwargs", "not used"),
            .ignored("lazy_preprocess", "not used"),
            .ignored("preprocessing_num_workers", "data is prepared on all cores"),
            .ignored("overwrite_cache", "no cache"),
            .ignored("plot_loss", "loss.png and loss.svg are always written"),
            .ignored("save_only_model", "checkpoints always keep the optimizer and scheduler state, so resuming is exact"),
            .ignored("trust_remote_code", "no code is run from model folders"),
            .ignored("task_type", "CAUSAL_LM is the only task"),
            .ignored("inference_mode", "not applicable"),
            .ignored("dataset_text_field", "the format is detected"),
            .ignored("disable_tqdm", "the progress bar is the console sink"),
            .ignored("dataset_num_proc", "data is prepared on all cores"),
        ]),
    ].flatMap { $0 }
}
