import Foundation
import TailorJSON

/// What gguf-py's `SpecialVocab` (load_merges off) reads from a Hugging Face folder for convert_hf_to_gguf.py: the
/// special token ids, add_bos/add_eos and the chat template.
///
/// - tokenizer.json's post-processor first: ByteLevel adds neither; TemplateProcessing adds bos when its `single`
///   starts with the bos token and eos when it ends with the eos token (a last token that is not eos becomes eos,
///   the old eos the eot token, as gguf-py does);
/// - tokenizer_config.json: `add_<type>_token` where the post-processor said nothing; `<type>_token` (text or
///   {content}) matched, first match, against tokenizer.json's `added_tokens` (no tokenizer.json: no match);
/// - config.json's `<type>_token_id` for the types still unset; ids at or past the vocabulary size are skipped;
/// - the chat template: tokenizer_config.json's, else chat_template.jinja, else chat_template.json's.
/// Only read when tokenizer_config.json exists, as in gguf-py (config.json's ids are read regardless).
struct GGUFSpecialVocabulary {
    /// The ids by gguf-py's type name: bos, eos, unk, sep, pad, cls, mask, eot.
    var ids: [String: Int] = [:]
    /// add_bos / add_eos / add_sep, by type name.
    var add: [String: Bool] = [:]
    var addBos: Bool? { add["bos"] }
    var addEos: Bool? { add["eos"] }
    var addSep: Bool? { add["sep"] }
    var chatTemplate: String?

    /// gguf-py's default `special_token_types`.
    static let types = ["bos", "eos", "unk", "sep", "pad", "cls", "mask"]

    /// Python's truth value of a config entry: absent, null, "", {} and [] are false.
    static func truthy(_ value: JSONValue?) -> Bool {
        switch value {
        case nil, .null?: return false
        case .string(let s)?: return !s.isEmpty
        case .object(let o)?: return !o.isEmpty
        case .array(let a)?: return !a.isEmpty
        case .bool(let b)?: return b
        case .int(let i)?: return i != 0
        default: return true
        }
    }

    init(folder: URL, vocabularySize: Int) throws {
        func json(_ name: String) throws -> JSONValue? {
            let url = folder.appendingPathComponent(name)
            return FileManager.default.fileExists(atPath: url.path) ? try JSONValue.parse(contentsOf: url) : nil
        }
        let tokenizer = try json("tokenizer.json")
        var tokenizerConfig = try json("tokenizer_config.json")?.objectValue
        let added = tokenizer?["added_tokens"]?.arrayValue ?? []
        var types = Self.types
        var setTypes = Set<String>()
        func set(_ type: String, _ id: Int?) {
            guard let id, id >= 0, id < vocabularySize, !setTypes.contains(type) else { return }
            ids[type] = id
            setTypes.insert(type)
        }
        func configText(_ key: String) -> String? {
            guard let value = tokenizerConfig?[key] else { return nil }
            return value.stringValue ?? value["content"]?.stringValue
        }

        if let tokenizer {
            // gguf-py compares these config values (a string, or an AddedToken object, which equals no token text)
            // and tests them for Python truthiness.
            var bos = tokenizerConfig?["bos_token"], eos = tokenizerConfig?["eos_token"]
            let cls = tokenizerConfig?["cls_token"], sep = tokenizerConfig?["sep_token"]
            if !Self.truthy(bos), Self.truthy(cls), tokenizerConfig != nil { bos = cls; tokenizerConfig?["bos_token"] = cls }
            if !Self.truthy(eos), Self.truthy(sep), tokenizerConfig != nil { eos = sep; tokenizerConfig?["eos_token"] = sep }
            func isText(_ value: JSONValue?, _ text: String) -> Bool { value?.stringValue == text }
            let post = tokenizer["post_processor"]
            for processor in post?["processors"]?.arrayValue ?? (post.map { [$0] } ?? []) {
                switch processor["type"]?.stringValue {
                case "ByteLevel":
                    if add["bos"] == nil { add["bos"] = false }
                    if add["eos"] == nil { add["eos"] = false }
                case "TemplateProcessing":
                    let single = processor["single"]?.arrayValue ?? []
                    var first: String?, last: String?
                    func specialId(_ item: JSONValue?) -> String? {
                        guard let id = item?["SpecialToken"]?["id"]?.stringValue, !id.isEmpty else { return nil }
                        return id
                    }
                    if single.count > 1 { first = specialId(single.first); last = specialId(single.last) }
                    if let first {
                        if tokenizerConfig == nil {
                            bos = .string(first)
                        } else if !isText(bos, first), !isText(cls, first), !Self.truthy(bos) {
                            bos = .string(first)
                            tokenizerConfig?["bos_token"] = bos
                        }
                        add["bos"] = isText(bos, first) || isText(cls, first)
                    }
                    if let last {
                        if tokenizerConfig == nil {
                            eos = .string(last)
                        } else if !isText(eos, last) {
                            if !types.contains("eot") {
                                types.append("eot")
                                tokenizerConfig?["eot_token"] = eos ?? .null
                            }
                            eos = .string(last)
                            tokenizerConfig?["eos_token"] = eos
                        }
                        add["eos"] = isText(eos, last)
                    }
                    // The pair template without the single's first and last specials: A [sep [sep]] B adds sep.
                    var pair = processor["pair"]?.arrayValue ?? []
                    if !pair.isEmpty {
                        if let first, specialId(pair.first) == first { pair.removeFirst() }
                        if let last, !pair.isEmpty, specialId(pair.last) == last { pair.removeLast() }
                        if pair.count > 2, pair.first?["Sequence"]?["id"]?.stringValue == "A", pair.last?["Sequence"]?["id"]?.stringValue == "B" {
                            let middle = Array(pair.dropFirst().dropLast())
                            var addSep = false
                            if let entry = specialId(middle.first), isText(sep, entry) || isText(eos, entry), last == nil { addSep = true }
                            if middle.count == 2, let entry = specialId(middle[1]), isText(sep, entry) || isText(eos, entry) { addSep = true }
                            add["sep"] = addSep
                            if addSep, !Self.truthy(sep), tokenizerConfig != nil { tokenizerConfig?["sep_token"] = eos ?? .null }
                        }
                    }
                default:
                    continue
                }
            }
        }
        if let tokenizerConfig {
            if let template = tokenizerConfig["chat_template"] {
                chatTemplate = template.stringValue
            } else if let data = FileManager.default.contents(atPath: folder.appendingPathComponent("chat_template.jinja").path) {
                chatTemplate = String(decoding: data, as: UTF8.self)
            } else if let template = try json("chat_template.json")?["chat_template"]?.stringValue {
                chatTemplate = template
            }
            for type in types {
                if let value = tokenizerConfig["add_\(type)_token"]?.boolValue, add[type] == nil { add[type] = value }
                guard let text = configText("\(type)_token") else { continue }
                set(type, added.first { $0["content"]?.stringValue == text }?["id"]?.intValue)
            }
        }
        let config = try json("config.json")
        for type in types {
            set(type, config?["\(type)_token_id"]?.intValue ?? config?["text_config"]?["\(type)_token_id"]?.intValue)
        }
    }
}
