/// A JSON value whose objects keep their key order, serialized compactly or indented; for writing
/// tokenizer.json and its companions deterministically (vocabularies in id order).
enum OrderedJSON {
    case null
    case bool(Bool)
    case int(Int)
    case string(String)
    case array([OrderedJSON])
    case object([(String, OrderedJSON)])

    /// UTF-8 bytes; `indent` spaces per level (0 = compact, one line).
    func serialized(indent: Int = 0) -> [UInt8] {
        var out: [UInt8] = []
        write(into: &out, indent: indent, level: 0)
        return out
    }

    private func newline(_ out: inout [UInt8], _ indent: Int, _ level: Int) {
        guard indent > 0 else { return }
        out.append(0x0A)
        out.append(contentsOf: repeatElement(0x20, count: indent * level))
    }

    private func write(into out: inout [UInt8], indent: Int, level: Int) {
        switch self {
        case .null: out += Array("null".utf8)
        case let .bool(b): out += Array((b ? "true" : "false").utf8)
        case let .int(i): out += Array(String(i).utf8)
        case let .string(s): Self.writeString(s, into: &out)
        case let .array(items):
            out.append(0x5B)
            for (k, item) in items.enumerated() {
                if k > 0 { out.append(0x2C) }
                newline(&out, indent, level + 1)
                item.write(into: &out, indent: indent, level: level + 1)
            }
            if !items.isEmpty { newline(&out, indent, level) }
            out.append(0x5D)
        case let .object(members):
            out.append(0x7B)
            for (k, (key, value)) in members.enumerated() {
                if k > 0 { out.append(0x2C) }
                newline(&out, indent, level + 1)
                Self.writeString(key, into: &out)
                out.append(0x3A)
                if indent > 0 { out.append(0x20) }
                value.write(into: &out, indent: indent, level: level + 1)
            }
            if !members.isEmpty { newline(&out, indent, level) }
            out.append(0x7D)
        }
    }

    /// A JSON string: quotes, backslashes and control characters escaped, everything else raw UTF-8.
    static func writeString(_ s: String, into out: inout [UInt8]) {
        out.append(0x22)
        for byte in s.utf8 {
            switch byte {
            case 0x22: out += [0x5C, 0x22]
            case 0x5C: out += [0x5C, 0x5C]
            case 0x0A: out += [0x5C, 0x6E]
            case 0x0D: out += [0x5C, 0x72]
            case 0x09: out += [0x5C, 0x74]
            case 0..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                out += [0x5C, 0x75, 0x30, 0x30, hex[Int(byte >> 4)], hex[Int(byte & 15)]]
            default: out.append(byte)
            }
        }
        out.append(0x22)
    }
}
