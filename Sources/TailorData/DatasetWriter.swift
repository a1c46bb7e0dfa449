import Foundation
import TailorTokenizers

/// Writes conversations as JSON Lines in the `messages` format (plain text as `{"text": ...}`,
/// preference pairs as `{"prompt", "chosen", "rejected"}` message lists), and pre-tokenized
/// samples as `{"input_ids", "labels"}`. Writes are atomic: a temporary file in the same
/// folder, renamed over the target.
public enum DatasetWriter {
    public static func record(_ c: Conversation) -> ChatValue {
        if let text = c.text { return .object(["text": .string(text)]) }
        func msg(_ m: Message) -> ChatValue {
            guard case .object(var o) = m.chatValue else { return m.chatValue }
            if let t = m.train { o["weight"] = .int(t ? 1 : 0) }
            return .object(o)
        }
        var o = ChatObject()
        if let rejected = c.rejected {
            var prompt = c.messages
            var chosen: [Message] = []
            while let last = prompt.last, last.role == .assistant { chosen.insert(prompt.removeLast(), at: 0) }
            o["prompt"] = .array(prompt.map(msg))
            o["chosen"] = .array(chosen.map(msg))
            o["rejected"] = .array(rejected.map(msg))
        } else {
            o["messages"] = .array(c.messages.map(msg))
        }
        if let tools = c.tools { o["tools"] = .array(tools) }
        return .object(o)
    }

    public static func writeJSONL(_ conversations: [Conversation], to path: String) throws {
        var out = ""
        for c in conversations { out += record(c).jsonString + "\n" }
        try writeAtomically(Array(out.utf8), to: path)
    }

    /// A pre-tokenized sample as a `tokenized` record: `input_ids` and `labels`.
    public static func record(_ sample: EncodedSample) -> ChatValue {
        .object(["input_ids": .array(sample.inputIds.map { .int(Int($0)) }),  // allowed: Int32 widens
                 "labels": .array(sample.labels.map { .int(Int($0)) })])  // allowed: Int32 widens
    }

    /// Writes pre-tokenized samples as JSON Lines of `tokenized` records.
    public static func writeJSONL(tokenized samples: [EncodedSample], to path: String) throws {
        var out = ""
        for sample in samples { out += record(sample).jsonString + "\n" }
        try writeAtomically(Array(out.utf8), to: path)
    }

    public static func writeAtomically(_ bytes: [UInt8], to path: String) throws {
        let url = URL(fileURLWithPath: path)
        let dir = url.deletingLastPathComponent()
        let tmp = dir.appendingPathComponent(".\(url.lastPathComponent).tmp-\(ProcessInfo.processInfo.processIdentifier)")
        do {
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            try Data(bytes).write(to: tmp)
            guard rename(tmp.path, url.path) == 0 else {
                throw DataError.writeFailed(path: path, reason: String(cString: strerror(errno)))
            }
        } catch let error as DataError {
            try? FileManager.default.removeItem(at: tmp)
            throw error
        } catch {
            try? FileManager.default.removeItem(at: tmp)
            throw DataError.writeFailed(path: path, reason: error.localizedDescription)
        }
    }
}
