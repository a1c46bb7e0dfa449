/// JSON text that could not be read: where (file, 1-based line and column, byte offset) and what was
/// expected there. The only error TailorJSON throws; modules that read a JSON file wrap it in their
/// own error enum with `detail`, keeping the position.
public struct JSONError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The file's path as the caller named it; nil for text that is not a file.
    public var file: String?
    /// 1-based line: one more than the number of `\n` before the problem.
    public var line: Int
    /// 1-based column, in Unicode scalars from the start of the line.
    public var column: Int
    /// Byte offset of the problem from the start of the text.
    public var offset: Int
    /// What is wrong and what was expected ("expected ',' or '}' after an object member").
    public var reason: String

    public init(file: String?, line: Int, column: Int, offset: Int, reason: String) {
        self.file = file
        self.line = line
        self.column = column
        self.offset = offset
        self.reason = reason
    }

    /// "not valid JSON at line 3, column 14: expected a value", for messages that name the file themselves.
    public var detail: String { "not valid JSON at line \(line), column \(column): \(reason)" }

    /// "path/config.json:3:14: not valid JSON: expected a value".
    public var description: String { "\(file ?? "JSON text"):\(line):\(column): not valid JSON: \(reason)" }
}
