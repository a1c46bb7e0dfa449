/// Two answers to the same prompt in two columns, as `tailor chat --compare` shows them (and as
/// every seed compares base and fine-tuned answers by hand). Wide characters (CJK) count as two
/// terminal columns, so Chinese answers line up too.
struct SideBySide {
    /// Total width in terminal columns (both columns and the " | " between them).
    var width: Int

    /// The lines of a table with `left` and `right` under their titles, each wrapped to half
    /// the width (at spaces where possible; CJK text, which has none, wraps anywhere).
    func lines(left: (title: String, text: String), right: (title: String, text: String)) -> [String] {
        let column = max(12, (width - 3) / 2)
        let a = [left.title] + wrap(left.text, column), b = [right.title] + wrap(right.text, column)
        var result: [String] = []
        for row in 0..<max(a.count, b.count) {
            let l = row < a.count ? a[row] : "", r = row < b.count ? b[row] : ""
            result.append(pad(l, column) + " | " + r)
            if row == 0 { result.append(String(repeating: "-", count: column) + "-+-" + String(repeating: "-", count: column)) }
        }
        return result
    }

    /// Terminal columns a scalar takes: 2 for East Asian wide and fullwidth ranges, 0 for
    /// combining marks and zero-width joiners, else 1.
    static func columns(_ scalar: Unicode.Scalar) -> Int {
        switch scalar.value {
        case 0x0300...0x036F, 0x200B...0x200F, 0xFE00...0xFE0F: return 0
        case 0x1100...0x115F, 0x2E80...0x303E, 0x3041...0x33FF, 0x3400...0x4DBF, 0x4E00...0x9FFF,
             0xA000...0xA4CF, 0xAC00...0xD7A3, 0xF900...0xFAFF, 0xFE30...0xFE4F, 0xFF00...0xFF60,
             0xFFE0...0xFFE6, 0x1F300...0x1F64F, 0x1F900...0x1F9FF, 0x20000...0x3FFFD: return 2
        default: return 1
        }
    }

    static func columns(_ text: Substring) -> Int { text.unicodeScalars.reduce(0) { $0 + columns($1) } }
    static func columns(_ character: Character) -> Int { character.unicodeScalars.reduce(0) { $0 + columns($1) } }

    /// `text` split into lines of at most `limit` columns: its own line breaks kept, words moved
    /// whole to the next line when they fit there, longer runs cut.
    func wrap(_ text: String, _ limit: Int) -> [String] {
        var lines: [String] = []
        for paragraph in text.split(separator: "\n", omittingEmptySubsequences: false) {
            var line = "", lineColumns = 0
            for character in paragraph {
                let c = Self.columns(character)
                if lineColumns + c > limit {
                    // Break at the last space when there is one in the line.
                    if let space = line.lastIndex(of: " "), character != " " {
                        let tail = String(line[line.index(after: space)...])
                        lines.append(String(line[..<space]))
                        line = tail
                        lineColumns = Self.columns(Substring(tail))
                    } else {
                        lines.append(line)
                        line = ""
                        lineColumns = 0
                    }
                    if character == " " && line.isEmpty { continue }
                }
                line.append(character)
                lineColumns += c
            }
            lines.append(line)
        }
        return lines
    }

    func pad(_ text: String, _ columns: Int) -> String {
        text + String(repeating: " ", count: max(0, columns - Self.columns(Substring(text))))
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The terminal's width in columns: $COLUMNS, else the window size of stdout, else 100.
func terminalColumns() -> Int {
    if let text = getenv("COLUMNS").map({ String(cString: $0) }), let columns = Int(text), columns >= 40 { return columns }
    var size = winsize()
    if ioctl(STDOUT_FILENO, UInt(TIOCGWINSZ), &size) == 0, size.ws_col >= 40 { return Int(size.ws_col) }  // allowed: ioctl constants and the terminal width (UInt16) widen
    return 100
}
