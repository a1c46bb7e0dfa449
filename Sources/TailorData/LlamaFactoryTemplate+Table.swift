extension LlamaFactoryTemplate {
    /// The templates, as LLaMA-Factory's `data/template.py` registers them (text-only slots; tool
    /// and multimodal slots are not carried).
    static let all: [LlamaFactoryTemplate] = {
        let chatmlUser: [Slot] = [.text("<|im_start|>user\n{{content}}<|im_end|>\n<|im_start|>assistant\n")]
        let chatmlReply: [Slot] = [.text("{{content}}<|im_end|>\n")]
        let chatmlSystem: [Slot] = [.text("<|im_start|>system\n{{content}}<|im_end|>\n")]
        func chatml(_ name: String, defaultSystem: String = "", style: Style = .standard) -> LlamaFactoryTemplate {
            LlamaFactoryTemplate(name: name, system: chatmlSystem, user: chatmlUser, assistant: chatmlReply,
                                 defaultSystem: defaultSystem, style: style)
        }
        return [
            LlamaFactoryTemplate(name: "alpaca", user: [.text("### Instruction:\n{{content}}\n\n### Response:\n")],
                                 assistant: [.text("{{content}}"), .eos, .text("\n\n")],
                                 defaultSystem: "Below is an instruction that describes a task. Write a response that appropriately completes the request.\n\n"),
            chatml("chatml"),
            LlamaFactoryTemplate(name: "default", system: [.text("System: {{content}}"), .eos, .text("\n")],
                                 user: [.text("Human: {{content}}"), .eos, .text("\nAssistant:")],
                                 assistant: [.text("{{content}}"), .eos, .text("\n")]),
            LlamaFactoryTemplate(name: "deepseek", prefix: [.bos], system: [.text("{{content}}\n\n")],
                                 user: [.text("User: {{content}}\n\nAssistant:")]),
            LlamaFactoryTemplate(name: "empty", assistant: [.text("{{content}}")]),
            LlamaFactoryTemplate(name: "llama2", system: [.text("<<SYS>>\n{{content}}\n<</SYS>>\n\n")],
                                 user: [.bos, .text("[INST] {{content}} [/INST]")], style: .systemInFirstUser),
            LlamaFactoryTemplate(name: "llama3", prefix: [.bos],
                                 system: [.text("<|start_header_id|>system<|end_header_id|>\n\n{{content}}<|eot_id|>")],
                                 user: [.text("<|start_header_id|>user<|end_header_id|>\n\n{{content}}<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n")],
                                 assistant: [.text("{{content}}<|eot_id|>")]),
            LlamaFactoryTemplate(name: "mistral", prefix: [.bos], system: [.text("{{content}}\n\n")],
                                 user: [.text("[INST] {{content}}[/INST]")], assistant: [.text(" {{content}}"), .eos],
                                 style: .systemInFirstUser),
            chatml("qwen", defaultSystem: "You are Qwen, created by Alibaba Cloud. You are a helpful assistant."),
            chatml("qwen3", style: .reasoning),
            chatml("qwen3_nothink"),
            chatml("qwen3_5", style: .reasoning),
            chatml("qwen3_5_nothink"),
            chatml("smollm"),
            chatml("smollm2", defaultSystem: "You are a helpful AI assistant named SmolLM, trained by Hugging Face."),
            LlamaFactoryTemplate(name: "vicuna", user: [.text("USER: {{content}} ASSISTANT:")],
                                 defaultSystem: "A chat between a curious user and an artificial intelligence assistant. The assistant gives helpful, detailed, and polite answers to the user's questions."),
            LlamaFactoryTemplate(name: "zephyr", system: [.text("<|system|>\n{{content}}"), .eos],
                                 user: [.text("<|user|>\n{{content}}"), .eos, .text("<|assistant|>\n")],
                                 defaultSystem: "You are Zephyr, a helpful assistant."),
        ]
    }()
}
