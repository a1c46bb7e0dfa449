/// Errors of the exporters. Each names the file, tensor or option at fault and says what to do.
public enum ExportError: Error, Equatable, CustomStringConvertible {
    /// config.json's architecture has no llama.cpp equivalent Tailor writes.
    case unsupportedArchitecture(name: String, file: String, supported: [String])
    /// The output's folder does not exist.
    case outputFolderMissing(path: String)
    /// A weight has no llama.cpp tensor name.
    case unmappedTensor(name: String)
    /// An --outtype this build cannot write.
    case unsupportedOutType(name: String, supported: [String])
    /// An adapter llama.cpp's LoRA loader cannot apply (`--lora-only`).
    case adapterNotApplicable(adapter: String, what: String, hint: String)

    public var description: String {
        switch self {
        case let .unsupportedArchitecture(name, file, supported):
            return "\(file): architecture \(name) cannot be exported to GGUF: llama.cpp reads it under no architecture Tailor "
                + "writes (supported: \(supported.joined(separator: ", ")))."
        case let .outputFolderMissing(path):
            return "cannot write \(path): its folder does not exist. Create the folder first, or give another --output."
        case let .unmappedTensor(name):
            return "weight \(name) has no llama.cpp tensor name; Tailor cannot export this model to GGUF."
        case let .unsupportedOutType(name, supported):
            return "--outtype \(name) is not built yet; Tailor writes \(supported.joined(separator: ", "))."
        case let .adapterNotApplicable(adapter, what, hint):
            return "\(adapter) cannot be written as a llama.cpp LoRA adapter: \(what). To run it in llama.cpp, \(hint)."
        }
    }
}
