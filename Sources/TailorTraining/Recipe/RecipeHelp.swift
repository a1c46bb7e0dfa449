/// The key list of `tailor train --help`, made from `RecipeKeys.table`: a heading per group, a
/// line per key with its other spellings, help, values and default, then the keys accepted
/// without effect.
public enum RecipeHelp {
    /// The keys, wrapped to `width` columns.
    public static func text(width: Int = 78) -> String {
        var lines: [String] = []
        for group in RecipeKey.Group.allCases where group != .ignored {
            lines.append(group.rawValue)
            for key in RecipeKeys.table where key.group == group { lines += entry(key, width: width) }
        }
        let ignored = RecipeKeys.table.filter { $0.ignoredBecause != nil }.map(\.name)
        lines.append(RecipeKey.Group.ignored.rawValue + " (the warning says why)")
        lines += wrap(ignored.joined(separator: ", "), width: width, indent: 2)
        return lines.joined(separator: "\n")
    }

    /// Left column: the name and its other spellings.
    static let nameColumn = 30

    /// "  name (alias, ...)   help: values (default)", wrapped under the help column.
    static func entry(_ key: RecipeKey, width: Int) -> [String] {
        var text = key.help
        if let values = key.type.shown { text += ": " + values }
        if key.required != nil {
            text += "; required"
        } else if let value = key.defaultText {
            text += " (\(value))"
        }
        var name = "  " + key.name
        if !key.aliases.isEmpty { name += " (" + key.aliases.joined(separator: ", ") + ")" }
        let body = wrap(text, width: width, indent: nameColumn)
        guard name.count < nameColumn else { return [name] + body }
        var first = body[0]
        first.replaceSubrange(first.startIndex..<first.index(first.startIndex, offsetBy: name.count), with: name)
        return [first] + body.dropFirst()
    }

    /// `text` in lines of at most `width` columns (a longer word stands alone), each indented.
    static func wrap(_ text: String, width: Int, indent: Int) -> [String] {
        let pad = String(repeating: " ", count: indent)
        var lines: [String] = [], line = ""
        for word in text.split(separator: " ") {
            if !line.isEmpty && indent + line.count + 1 + word.count > width {
                lines.append(pad + line)
                line = ""
            }
            line += (line.isEmpty ? "" : " ") + word
        }
        lines.append(pad + line)
        return lines
    }
}
