/// Chat templates for base models whose tokenizer has none, modelled on the families' real ones.
/// Assistant turns sit in `{% generation %}` blocks, so `RenderedChat.generationRanges` marks what to train on.
/// The same text is in scripts/reference/make_template_fixtures.py, and a test checks the two agree
/// and that transformers renders these sources exactly as Tailor does.
public enum BuiltinChatTemplate: String, CaseIterable, Sendable {
    /// Stanford Alpaca's instruction format (`### Instruction:` / `### Response:`), with its default preamble when there is no system message.
    case alpaca
    /// ChatML (`<|im_start|>role ... <|im_end|>`), as OpenHermes, SmolLM and Qwen use it.
    case chatml
    /// Qwen2/2.5 ChatML with Qwen's default system message when the conversation has none.
    case qwen
    /// Llama 3 / 3.1 headers (`<|start_header_id|>role<|end_header_id|>`, `<|eot_id|>`), without the tool and date preamble.
    case llama3
    /// Llama 2 chat (`[INST] <<SYS>> ... <</SYS>> ... [/INST]`); roles must alternate user/assistant.
    case llama2
    /// Mistral instruct (`[INST] ... [/INST]`); the system message is prepended to the first user turn.
    case mistral
    /// DeepSeek-LLM chat (`User: ... \n\nAssistant: ...`).
    case deepseek

    /// The Jinja source.
    public var source: String {
        switch self {
        case .alpaca:
            return #"{% if messages[0]['role'] != 'system' %}{{ 'Below is an instruction that describes a task. Write a response that appropriately completes the request.\n\n' }}"#
                + #"{% endif %}{% for message in messages %}"#
                + #"{% if message['role'] == 'system' %}{{ message['content'] + '\n\n' }}"#
                + #"{% elif message['role'] == 'user' %}{{ '### Instruction:\n' + message['content'] + '\n\n' }}"#
                + #"{% elif message['role'] == 'assistant' %}{{ '### Response:\n' }}{% generation %}{{ message['content'] + eos_token }}{% endgeneration %}{{ '\n\n' }}"#
                + #"{% endif %}{% endfor %}{% if add_generation_prompt %}{{ '### Response:\n' }}{% endif %}"#
        case .chatml:
            return #"{% for message in messages %}"#
                + #"{% if message['role'] == 'assistant' %}{{ '<|im_start|>assistant\n' }}{% generation %}{{ message['content'] + '<|im_end|>' }}{% endgeneration %}{{ '\n' }}"#
                + #"{% else %}{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>\n' }}"#
                + #"{% endif %}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"#
        case .qwen:
            return #"{% for message in messages %}"#
                + #"{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n' }}"#
                + #"{% endif %}"#
                + #"{% if message['role'] == 'assistant' %}{{ '<|im_start|>assistant\n' }}{% generation %}{{ message['content'] + '<|im_end|>' }}{% endgeneration %}{{ '\n' }}"#
                + #"{% else %}{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>\n' }}"#
                + #"{% endif %}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"#
        case .llama3:
            return #"{{ bos_token }}"#
                + #"{% for message in messages %}{{ '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n' }}"#
                + #"{% if message['role'] == 'assistant' %}{% generation %}{{ message['content'] | trim + '<|eot_id|>' }}{% endgeneration %}"#
                + #"{% else %}{{ message['content'] | trim + '<|eot_id|>' }}{% endif %}{% endfor %}"#
                + #"{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}"#
                + #"{% endif %}"#
        case .llama2:
            return #"{% if messages[0]['role'] == 'system' %}{% set loop_messages = messages[1:] %}"#
                + #"{% set system_message = messages[0]['content'] %}{% else %}{% set loop_messages = messages %}"#
                + #"{% set system_message = false %}{% endif %}{% for message in loop_messages %}"#
                + #"{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}"#
                + #"{% endif %}{% if loop.index0 == 0 and system_message != false %}"#
                + #"{% set content = '<<SYS>>\n' + system_message + '\n<</SYS>>\n\n' + message['content'] %}"#
                + #"{% else %}{% set content = message['content'] %}{% endif %}"#
                + #"{% if message['role'] == 'user' %}{{ bos_token + '[INST] ' + content.strip() + ' [/INST]' }}"#
                + #"{% elif message['role'] == 'assistant' %}{% generation %}{{ ' ' + content.strip() + ' ' + eos_token }}{% endgeneration %}"#
                + #"{% endif %}{% endfor %}"#
        case .mistral:
            return #"{{ bos_token }}{% if messages[0]['role'] == 'system' %}"#
                + #"{% set system_message = messages[0]['content'] %}{% set loop_messages = messages[1:] %}"#
                + #"{% else %}{% set system_message = '' %}{% set loop_messages = messages %}{% endif %}"#
                + #"{% for message in loop_messages %}"#
                + #"{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}"#
                + #"{% endif %}{% if message['role'] == 'user' %}"#
                + #"{% if loop.first and system_message %}{{ '[INST] ' + system_message + '\n\n' + message['content'] + '[/INST]' }}"#
                + #"{% else %}{{ '[INST] ' + message['content'] + '[/INST]' }}{% endif %}"#
                + #"{% elif message['role'] == 'assistant' %}{% generation %}{{ message['content'] + eos_token }}{% endgeneration %}"#
                + #"{% else %}{{ raise_exception('Only system, user and assistant roles are supported!') }}"#
                + #"{% endif %}{% endfor %}"#
        case .deepseek:
            return #"{{ bos_token }}{% for message in messages %}"#
                + #"{% if message['role'] == 'user' %}{{ 'User: ' + message['content'] + '\n\n' }}"#
                + #"{% elif message['role'] == 'assistant' %}{{ 'Assistant: ' }}{% generation %}{{ message['content'] + eos_token }}{% endgeneration %}"#
                + #"{% elif message['role'] == 'system' %}{{ message['content'] + '\n\n' }}{% endif %}{% endfor %}"#
                + #"{% if add_generation_prompt %}{{ 'Assistant:' }}{% endif %}"#
        }
    }

    /// The parsed template. The built-in sources are tested, so parsing them cannot fail in practice;
    /// the error is still thrown rather than trapped.
    public func template() throws -> ChatTemplate {
        try ChatTemplate(source: source, name: "builtin:\(rawValue)")
    }

    /// Looks a built-in up by name, case-insensitively, accepting a few common aliases
    /// (`llama-3`, `llama3.1`, `qwen2`, `qwen2.5`, `deepseek-llm`, `llama-2`, `mistral-instruct`).
    public static func named(_ name: String) -> BuiltinChatTemplate? {
        let key = name.lowercased().replacingOccurrences(of: "_", with: "-")
        if let exact = BuiltinChatTemplate(rawValue: key) { return exact }
        switch key {
        case "llama-3", "llama3.1", "llama-3.1", "llama3.2", "llama-3.2": return .llama3
        case "llama-2", "llama2-chat": return .llama2
        case "qwen2", "qwen2.5", "qwen-2.5": return .qwen
        case "deepseek-llm", "deepseek-chat": return .deepseek
        case "mistral-instruct": return .mistral
        case "im-start": return .chatml
        default: return nil
        }
    }
}

extension ChatTemplate {
    /// A built-in template by name (see `BuiltinChatTemplate.named`), or nil when there is none.
    public static func builtin(named name: String) throws -> ChatTemplate? {
        try BuiltinChatTemplate.named(name)?.template()
    }
}
