import Foundation

/// A `post_processor` stage of tokenizer.json: adds the special tokens around an encoded text
/// when `addSpecialTokens` is true.
protocol PostProcessor: Sendable {
    func process(_ ids: [Int32]) -> [Int32]
}

enum PostProcessorFactory {
    static let supported = ["TemplateProcessing", "ByteLevel", "RobertaProcessing", "BertProcessing", "Sequence"]

    static func make(_ node: JSONNode) throws -> PostProcessor? {
        let type = try node.type
        switch type {
        case "TemplateProcessing": return try TemplateProcessor(node)
        case "ByteLevel": return nil  // only adjusts offsets
        case "RobertaProcessing", "BertProcessing":
            func pair(_ key: String) throws -> Int32 {
                let items = try node.required(key).elements
                guard items.count == 2 else { throw items.first.map { _ in TokenizerError.wrongType(file: node.file, path: node.path + "." + key, expected: "[token, id]", found: "an array of \(items.count)") } ?? TokenizerError.missingField(file: node.file, path: node.path + "." + key) }
                return Int32(try items[1].tokenId)  // allowed: tokenId is 0...Int32.max
            }
            return WrapProcessor(prefix: [try pair("cls")], suffix: [try pair("sep")])
        case "Sequence":
            let parts = try node.required("processors").elements.compactMap { try make($0) }
            return parts.isEmpty ? nil : SequenceProcessor(parts: parts)
        default:
            throw TokenizerError.unknownComponent(file: node.file, path: node.path, type: type, supported: supported)
        }
    }
}

/// `single` template: `[SpecialToken <s>, Sequence A, SpecialToken </s>]`, each special token possibly several ids.
struct TemplateProcessor: PostProcessor {
    enum Item { case special([Int32]), sequence }
    let items: [Item]

    init(_ node: JSONNode) throws {
        var specials: [String: [Int32]] = [:]
        if let map = try node.optional("special_tokens") {
            for (key, value) in try map.members {
                specials[key] = try value.required("ids").elements.map { Int32(try $0.tokenId) }  // allowed: tokenId is 0...Int32.max
            }
        }
        var items: [Item] = []
        for piece in try node.required("single").elements {
            if let sp = try piece.optional("SpecialToken") {
                let name = try sp.string("id")
                guard let ids = specials[name] else {
                    throw TokenizerError.unknownToken(file: node.file, path: sp.path + ".id", token: name)
                }
                items.append(.special(ids))
            } else if try piece.optional("Sequence") != nil {
                items.append(.sequence)
            } else {
                throw TokenizerError.invalidValue(file: node.file, path: piece.path, value: "(object)",
                                                  reason: "expected {\"SpecialToken\": ...} or {\"Sequence\": ...}")
            }
        }
        self.items = items
    }

    func process(_ ids: [Int32]) -> [Int32] {
        var out: [Int32] = []
        out.reserveCapacity(ids.count + 4)
        for item in items {
            switch item {
            case .special(let s): out += s
            case .sequence: out += ids
            }
        }
        return out
    }
}

struct WrapProcessor: PostProcessor {
    let prefix: [Int32], suffix: [Int32]
    func process(_ ids: [Int32]) -> [Int32] { prefix + ids + suffix }
}

struct SequenceProcessor: PostProcessor {
    let parts: [PostProcessor]
    func process(_ ids: [Int32]) -> [Int32] { parts.reduce(ids) { $1.process($0) } }
}
