import Foundation
import TailorTokenizers

/// How a dataset becomes samples: the one set of options `tailor data` and `tailor train` share
/// (`tailor data --<key>` and the recipe key of the same name). `DatasetEncoder` applies them.
/// `Key` lists every option with its Hugging Face / TRL / LLaMA-Factory spellings; a front end
/// that lacks one fails the option-parity test.
public struct DatasetOptions: Sendable, Equatable {
    /// `dataset_format`: the record layout; `auto` detects it per record.
    public var format: DatasetFormat = .auto
    /// `prompt_template`: a template over columns (`{Question}`); set, it implies format `columns`.
    public var promptTemplate: String?
    /// `response_template`: the trained part over columns (used with `promptTemplate`).
    public var responseTemplate: String = "{output}"
    /// `template`: a built-in chat template name, or a `.jinja` file; nil = the model's.
    public var template: String?
    /// `system_prompt`: a system turn for conversations that have none.
    public var systemPrompt: String?
    /// `max_seq_length` / `cutoff_len`: tokens per sample; nil = no limit.
    public var maxLength: Int?
    /// `truncation_mode`: what happens to a sample longer than `maxLength`.
    public var truncation: EncodingOptions.Truncation = .keepResponse
    /// `train_on_inputs` / `train_on_prompt`: label every token, not only assistant replies.
    public var trainOnInputs = false
    /// `mask_history`: train only the last assistant turn.
    public var maskHistory = false
    /// `skip_invalid`: skip and report records (and samples the template cannot render) instead of stopping.
    public var skipInvalid = false
    /// `enable_thinking`: the template variable of that name (Qwen3's templates, transformers'
    /// `apply_chat_template(enable_thinking=)`; LLaMA-Factory's reasoning templates); nil = the template's default.
    public var enableThinking: Bool?

    public init(format: DatasetFormat = .auto, promptTemplate: String? = nil, responseTemplate: String = "{output}",
                template: String? = nil, systemPrompt: String? = nil, maxLength: Int? = nil,
                truncation: EncodingOptions.Truncation = .keepResponse, trainOnInputs: Bool = false,
                maskHistory: Bool = false, skipInvalid: Bool = false) {
        self.format = format
        self.promptTemplate = promptTemplate
        self.responseTemplate = responseTemplate
        self.template = template
        self.systemPrompt = systemPrompt
        self.maxLength = maxLength
        self.truncation = truncation
        self.trainOnInputs = trainOnInputs
        self.maskHistory = maskHistory
        self.skipInvalid = skipInvalid
    }

    /// TRL's `assistant_only_loss`: the opposite of `trainOnInputs`.
    public var assistantOnlyLoss: Bool {
        get { !trainOnInputs }
        set { trainOnInputs = !newValue }
    }

    /// Every option, by its canonical (Hugging Face) name. Both front ends accept each one under
    /// `name` and every one of `aliases`.
    public enum Key: String, Sendable, CaseIterable {
        case datasetFormat = "dataset_format"
        case promptTemplate = "prompt_template"
        case responseTemplate = "response_template"
        case template
        case systemPrompt = "system_prompt"
        case maxSeqLength = "max_seq_length"
        case truncationMode = "truncation_mode"
        case trainOnInputs = "train_on_inputs"
        case assistantOnlyLoss = "assistant_only_loss"
        case maskHistory = "mask_history"
        case skipInvalid = "skip_invalid"
        case enableThinking = "enable_thinking"

        public var name: String { rawValue }

        /// The other spellings (LLaMA-Factory, TRL, older transformers, earlier `tailor data` flags).
        public var aliases: [String] {
            switch self {
            case .datasetFormat: return ["formatting", "format"]
            case .systemPrompt: return ["system", "default_system"]
            case .maxSeqLength: return ["max_length", "cutoff_len", "model_max_length"]
            case .truncationMode: return ["truncation"]
            case .trainOnInputs: return ["train_on_prompt"]
            case .promptTemplate, .responseTemplate, .template, .assistantOnlyLoss, .maskHistory, .skipInvalid, .enableThinking:
                return []
            }
        }

        /// `name`, then `aliases`.
        public var spellings: [String] { [name] + aliases }
    }

    // MARK: What the loader and the encoder take

    /// The column template `promptTemplate` / `responseTemplate` describe, or nil. A written `\\n`
    /// or `\\t` (as a shell passes it) stands for a newline or a tab.
    public var columnTemplate: ColumnTemplate? {
        promptTemplate.map { ColumnTemplate(prompt: Self.unescape($0), response: Self.unescape(responseTemplate)) }
    }

    static func unescape(_ s: String) -> String {
        s.replacingOccurrences(of: "\\n", with: "\n").replacingOccurrences(of: "\\t", with: "\t")
    }

    /// The loader's options: a column template forces format `columns`.
    public var loaderOptions: LoaderOptions {
        let columns = columnTemplate
        return LoaderOptions(format: columns != nil ? .columns : format, columnTemplate: columns, skipInvalid: skipInvalid)
    }

    /// The encoder's options.
    public var encodingOptions: EncodingOptions {
        EncodingOptions(maxLength: maxLength, truncation: truncation, trainOnInputs: trainOnInputs, maskHistory: maskHistory,
                        templateVariables: enableThinking.map { ["enable_thinking": .bool($0)] } ?? [:])
    }

    /// The LLaMA-Factory template `template` names: `llamafactory:NAME`, or a name of LLaMA-Factory's
    /// that is neither a built-in chat template nor a file.
    public func llamaFactoryTemplate() -> LlamaFactoryTemplate? {
        guard let template else { return nil }
        if template.hasPrefix(LlamaFactoryTemplate.namePrefix) { return LlamaFactoryTemplate.named(template) }
        guard BuiltinChatTemplate.named(template) == nil, !FileManager.default.fileExists(atPath: template) else { return nil }
        return LlamaFactoryTemplate.named(template)
    }

    /// The chat template `template` names: a built-in one, or a `.jinja` file; nil when unset.
    /// - Throws: `DataError.invalidOption(name: "template")` for a name that is neither, a file
    ///   that cannot be read, or a template that does not parse.
    public func chatTemplate() throws -> ChatTemplate? {
        guard let template, llamaFactoryTemplate() == nil else { return nil }
        if let builtin = BuiltinChatTemplate.named(template) { return try builtin.template() }
        let known = BuiltinChatTemplate.allCases.map(\.rawValue).joined(separator: ", ")
            + "; LLaMA-Factory's: " + LlamaFactoryTemplate.names.joined(separator: ", ")
        guard template.hasSuffix(".jinja") || FileManager.default.fileExists(atPath: template) else {
            throw DataError.invalidOption(name: "template", reason: "'\(template)' is not a built-in template (known: \(known)) nor a .jinja file")
        }
        let source: String
        do { source = try String(contentsOfFile: template, encoding: .utf8) } catch {
            throw DataError.invalidOption(name: "template", reason: "\(template) cannot be read (\(error.localizedDescription)); give a built-in name (\(known)) or a readable .jinja file")
        }
        do { return try ChatTemplate(source: source, name: template) } catch {
            throw DataError.invalidOption(name: "template", reason: "\(template) is not a valid chat template: \(error)")
        }
    }
}

extension EncodingOptions.Truncation {
    /// The mode a name gives: a case's own name, or TRL's `keep_start` (= right) / `keep_end` (= left).
    public static func named(_ name: String) -> Self? {
        switch name {
        case "keep_start": return .right
        case "keep_end": return .left
        default: return Self(rawValue: name)
        }
    }

    /// Every accepted name, as help texts and errors list them.
    public static let names = allCases.map(\.rawValue) + ["keep_start", "keep_end"]
}
