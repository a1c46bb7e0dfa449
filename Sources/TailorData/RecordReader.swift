import Foundation
import TailorJSON
import TailorTokenizers
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One record of a data file: a JSON object (CSV rows become objects of strings) and where it is.
public struct Record: Sendable {
    public var value: ChatValue
    public var source: SourceLocation
}

/// Reads data files: JSON arrays, JSON Lines, CSV/TSV with a header row, and plain .txt (one
/// sample per line). Paths may be files, folders (every data file inside, sorted) or globs.
public enum RecordReader {
    public static let extensions: Set<String> = ["json", "jsonl", "csv", "tsv", "txt"]

    /// The data files a path names: the file itself, the data files in a folder (recursively,
    /// sorted), or the files a glob (`*`, `?`, `[...]`) matches.
    public static func files(for path: String) throws -> [String] {
        var isDir: ObjCBool = false
        let fm = FileManager.default
        if fm.fileExists(atPath: path, isDirectory: &isDir) {
            if !isDir.boolValue { return [path] }
            guard let walker = fm.enumerator(atPath: path) else {
                throw DataError.fileNotReadable(path: path, reason: "cannot list the folder")
            }
            var found: [String] = []
            while let rel = walker.nextObject() as? String {
                let ext = (rel as NSString).pathExtension.lowercased()
                if extensions.contains(ext) { found.append((path as NSString).appendingPathComponent(rel)) }
            }
            guard !found.isEmpty else { throw DataError.noFiles(pattern: path) }
            return found.sorted()
        }
        if path.contains("*") || path.contains("?") || path.contains("[") {
            let found = expandGlob(path)
            guard !found.isEmpty else { throw DataError.noFiles(pattern: path) }
            return found
        }
        throw DataError.fileNotReadable(path: path, reason: "no such file or folder")
    }

    private static func expandGlob(_ pattern: String) -> [String] {
        var g = glob_t()
        defer { globfree(&g) }
        guard glob(pattern, 0, nil, &g) == 0 else { return [] }
        var out: [String] = []
        for i in 0..<Int(g.gl_pathc) {  // allowed: glob's match count is a size_t of paths held in memory
            if let p = g.gl_pathv[i], let s = String(validatingCString: p),
               extensions.contains((s as NSString).pathExtension.lowercased()) { out.append(s) }
        }
        return out.sorted()
    }

    /// Reads every record of a file. A record that does not parse is thrown, or, with
    /// `skipInvalid`, passed to `onInvalid` and left out.
    public static func read(file: String, skipInvalid: Bool = false,
                            onInvalid: (DataError) -> Void = { _ in }) throws -> [Record] {
        var records: [Record] = []
        try forEach(file: file, skipInvalid: skipInvalid, onInvalid: onInvalid) { records.append($0) }
        if records.isEmpty && !skipInvalid { throw DataError.emptyFile(path: file) }
        return records
    }

    /// Calls `body` with each record in order. JSON Lines, CSV and text files are streamed in
    /// fixed-size chunks (constant memory); a JSON array is read whole.
    public static func forEach(file: String, skipInvalid: Bool = false, onInvalid: (DataError) -> Void = { _ in },
                               _ body: (Record) throws -> Void) throws {
        let ext = (file as NSString).pathExtension.lowercased()
        func handle(_ result: Result<Record, DataError>) throws {
            switch result {
            case .success(let r): try body(r)
            case .failure(let e):
                if skipInvalid { onInvalid(e) } else { throw e }
            }
        }
        switch ext {
        case "jsonl", "ndjson":
            try LineStream.forEachLine(file: file) { line, number, index in
                if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) { return false }
                try handle(parseJSONLine(line, source: SourceLocation(file: file, line: number, index: index)))
                return true
            }
        case "csv", "tsv":
            try CSVReader.forEachRow(file: file, separator: ext == "tsv" ? 0x09 : 0x2C) { try handle($0) }
        case "txt":
            try LineStream.forEachLine(file: file) { line, number, index in
                let text = String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
                if text.isEmpty { return false }
                try body(Record(value: .object(["text": .string(text)]), source: SourceLocation(file: file, line: number, index: index)))
                return true
            }
        default:
            let bytes = try readText(file)
            guard let first = bytes.firstIndex(where: { !isSpace($0) }) else { throw DataError.emptyFile(path: file) }
            if bytes[first] == UInt8(ascii: "[") {
                for element in try JSONArrayScanner.elements(bytes, file: file) {
                    try handle(parseJSONElement(of: bytes, element))
                }
            } else {
                // JSON Lines saved as .json, or a single object.
                try LineStream.forEachLine(bytes: bytes) { line, number, index in
                    if line.allSatisfy(isSpace) { return false }
                    try handle(parseJSONLine(line, source: SourceLocation(file: file, line: number, index: index)))
                    return true
                }
            }
        }
    }

    static func isSpace(_ b: UInt8) -> Bool { b == 0x20 || b == 0x0A || b == 0x0D || b == 0x09 }

    static func readAll(_ file: String) throws -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: file) else {
            throw DataError.fileNotReadable(path: file, reason: "no such file or not readable")
        }
        return [UInt8](data)
    }

    /// A whole file's bytes after its byte order mark, if any.
    /// - Throws: `DataError.malformedFile` at the first byte that is not UTF-8.
    static func readText(_ file: String) throws -> [UInt8] {
        var b = try readAll(file)
        let bom = TextCheck.startsWithByteOrderMark(b)
        if bom { b.removeFirst(TextCheck.byteOrderMark.count) }
        try TextCheck.requireUTF8(b[...], file: file, fileOffset: bom ? TextCheck.byteOrderMark.count : 0)
        return b
    }

    /// Whether `file` starts with a UTF-8 byte order mark (which the readers skip).
    public static func startsWithByteOrderMark(file: String) -> Bool {
        guard let handle = FileHandle(forReadingAtPath: file) else { return false }
        defer { try? handle.close() }
        return TextCheck.startsWithByteOrderMark(handle.readData(ofLength: TextCheck.byteOrderMark.count))
    }

    /// A JSON Lines record (`source` is its line); an error names the line and the column in it.
    static func parseJSONLine(_ line: ArraySlice<UInt8>, source: SourceLocation) -> Result<Record, DataError> {
        do {
            return .success(Record(value: ChatValue(try JSONValue(parsing: line, line: source.line, file: source.file)), source: source))
        } catch {
            var at = source
            at.line = error.line
            return .failure(.invalidRecord(at, reason: "not valid JSON at column \(error.column): \(error.reason)"))
        }
    }

    /// An element of a JSON array file; an error names the line and column in the file.
    static func parseJSONElement(of file: [UInt8], _ element: JSONArrayScanner.Element) -> Result<Record, DataError> {
        do {
            let value = try JSONValue(parsing: file, range: element.range, file: element.source.file)
            return .success(Record(value: ChatValue(value), source: element.source))
        } catch {
            var at = element.source
            at.line = error.line
            return .failure(.invalidRecord(at, reason: "not valid JSON at column \(error.column): \(error.reason)"))
        }
    }
}

/// Splits a JSON array's bytes into its top-level elements without parsing them, keeping the
/// line each starts on (strings and escapes are respected). The array must be the whole file, as
/// `json.load` reads it: what follows its `]`, a bracket that closes nothing and a trailing comma
/// are errors, never records silently left out.
enum JSONArrayScanner {
    struct Element { var range: Range<Int>; var source: SourceLocation }

    static func elements(_ b: [UInt8], file: String) throws -> [Element] {
        var out: [Element] = []
        var i = 0, line = 1
        while i < b.count, b[i] != UInt8(ascii: "[") { if b[i] == 0x0A { line += 1 }; i += 1 }
        i += 1
        var depth = 0, inString = false, escaped = false
        var start: Int? = nil, startLine = line
        var lastComma: Int? = nil  // the comma after the last element, while no element follows it
        var closed = false
        func element(_ range: Range<Int>) -> Element {
            Element(range: range, source: .init(file: file, line: startLine, index: out.count))
        }
        scan: while i < b.count {
            let c = b[i]
            if c == 0x0A { line += 1 }
            if inString {
                if escaped { escaped = false } else if c == 0x5C { escaped = true } else if c == 0x22 { inString = false }
                i += 1
                continue
            }
            switch c {
            case 0x22:
                inString = true
                if start == nil { start = i; startLine = line }
            case 0x7B, 0x5B:
                if start == nil { start = i; startLine = line }
                depth += 1
            case 0x7D, 0x5D:
                if depth > 0 {
                    depth -= 1  // a mismatched pair inside an element is the element parser's to report
                } else if c == 0x7D {
                    let records = out.count + (start == nil ? 0 : 1)
                    throw malformed(b, file: file, at: i, "'}' closes nothing here; "
                                    + (records == 0 ? "expected a record" : "after record \(records) the array expects ',' or ']'")
                                    + ". Remove the '}', or fix the record before it")
                } else {
                    // The closing bracket of the array.
                    if let s = start {
                        out.append(element(s..<i))
                    } else if let comma = lastComma {
                        throw malformed(b, file: file, at: comma, "a trailing comma before the array's closing ']'; JSON allows"
                                        + " none (Python's json.load refuses it too). Remove the comma")
                    }
                    closed = true
                    i += 1
                    break scan
                }
            case 0x2C where depth == 0:
                if let s = start {
                    out.append(element(s..<i))
                } else {
                    throw DataError.invalidRecord(.init(file: file, line: line, index: out.count), reason: "empty element in the JSON array")
                }
                start = nil
                lastComma = i
            case 0x20, 0x0A, 0x0D, 0x09: break
            default:
                if start == nil { start = i; startLine = line }
            }
            i += 1
        }
        if !closed {
            throw DataError.invalidRecord(.init(file: file, line: line, index: out.count),
                                          reason: "the JSON array is not closed with ']' (file cut short?)")
        }
        if let rest = b[i...].firstIndex(where: { !RecordReader.isSpace($0) }) {
            let what = b[rest] == UInt8(ascii: "[") ? "a second JSON array starts here" : "text follows the JSON array"
            let records = out.count == 1 ? "1 record" : "\(out.count) records"
            throw malformed(b, file: file, at: rest, "\(what), after the array of \(records) that ends at line \(line);"
                            + " a .json file holds one array. Join the arrays into one, or write one record per line as"
                            + " JSON Lines (.jsonl)")
        }
        return out
    }

    /// `DataError.malformedFile` at byte `offset`, with its line and column.
    static func malformed(_ b: [UInt8], file: String, at offset: Int, _ reason: String) -> DataError {
        var line = 1, column = 1
        for byte in b[..<offset] {
            if byte == 0x0A { line += 1; column = 1 } else if byte & 0xC0 != 0x80 { column += 1 }
        }
        return .malformedFile(path: file, line: line, column: column, reason: reason)
    }
}

/// Reads a file line by line in 1 MiB chunks.
enum LineStream {
    /// `body(line, lineNumber, recordIndex)` returns whether the line was a record. A byte order mark
    /// at the start of the file is skipped; each line is checked to be UTF-8 before `body` sees it.
    /// - Throws: `DataError.malformedFile` at the first byte that is not UTF-8, or what `body` throws.
    static func forEachLine(file: String, _ body: (ArraySlice<UInt8>, Int, Int) throws -> Bool) throws {
        guard let handle = FileHandle(forReadingAtPath: file) else {
            throw DataError.fileNotReadable(path: file, reason: "no such file or not readable")
        }
        defer { try? handle.close() }
        var pending: [UInt8] = []
        var number = 0, index = 0
        var consumed = 0  // the file offset of pending[0]
        var first = true
        func line(_ bytes: ArraySlice<UInt8>) throws -> Bool {
            number += 1
            try TextCheck.requireUTF8(bytes, file: file, line: number, fileOffset: consumed + bytes.startIndex)
            return try body(bytes, number, index)
        }
        while true {
            let chunk = handle.readData(ofLength: 1 << 20)
            if chunk.isEmpty { break }
            pending += chunk
            if first {
                first = false
                if TextCheck.startsWithByteOrderMark(pending) {
                    pending.removeFirst(TextCheck.byteOrderMark.count)
                    consumed = TextCheck.byteOrderMark.count
                }
            }
            var lineStart = 0
            while let nl = pending[lineStart...].firstIndex(of: 0x0A) {
                if try line(pending[lineStart..<nl]) { index += 1 }
                lineStart = nl + 1
            }
            pending.removeFirst(lineStart)
            consumed += lineStart
        }
        if !pending.isEmpty { _ = try line(pending[...]) }
    }

    static func forEachLine(bytes: [UInt8], _ body: (ArraySlice<UInt8>, Int, Int) throws -> Bool) throws {
        var number = 0, index = 0, lineStart = 0
        while lineStart < bytes.count {
            let nl = bytes[lineStart...].firstIndex(of: 0x0A) ?? bytes.count
            number += 1
            if try body(bytes[lineStart..<nl], number, index) { index += 1 }
            lineStart = nl + 1
        }
    }
}

/// RFC 4180 CSV (quoted fields may hold separators, quotes as "" and newlines); the first row
/// names the columns. TSV uses the same reader with a tab separator.
enum CSVReader {
    static func forEachRow(file: String, separator: UInt8, _ body: (Result<Record, DataError>) throws -> Void) throws {
        let bytes = try RecordReader.readText(file)
        var header: [String]? = nil
        var fields: [String] = []
        var field: [UInt8] = []
        var inQuotes = false
        var line = 1, rowLine = 1, index = 0
        var i = 0
        func endRow() throws {
            fields.append(String(decoding: field, as: UTF8.self))
            field.removeAll(keepingCapacity: true)
            defer { fields.removeAll(keepingCapacity: true) }
            if fields.count == 1 && fields[0].isEmpty { return }
            guard let header else { header = fields.map { $0.trimmingCharacters(in: .whitespaces) }; return }
            let at = SourceLocation(file: file, line: rowLine, index: index)
            index += 1
            guard fields.count == header.count else {
                try body(.failure(.invalidRecord(at, reason: "\(fields.count) fields, but the header has \(header.count) columns")))
                return
            }
            var object = ChatObject()
            for (k, v) in zip(header, fields) { object[k] = .string(v) }
            try body(.success(Record(value: .object(object), source: at)))
        }
        while i < bytes.count {
            let c = bytes[i]
            if inQuotes {
                if c == 0x22 {
                    if i + 1 < bytes.count, bytes[i + 1] == 0x22 { field.append(0x22); i += 1 } else { inQuotes = false }
                } else {
                    if c == 0x0A { line += 1 }
                    field.append(c)
                }
            } else if c == 0x22 && field.isEmpty {
                inQuotes = true
            } else if c == separator {
                fields.append(String(decoding: field, as: UTF8.self))
                field.removeAll(keepingCapacity: true)
            } else if c == 0x0A {
                if field.last == 0x0D { field.removeLast() }
                try endRow()
                line += 1
                rowLine = line
            } else {
                field.append(c)
            }
            i += 1
        }
        if inQuotes {
            try body(.failure(.invalidRecord(.init(file: file, line: rowLine, index: index), reason: "a quoted field is not closed")))
            return
        }
        if !field.isEmpty || !fields.isEmpty { try endRow() }
        if header == nil { throw DataError.emptyFile(path: file) }
    }
}
