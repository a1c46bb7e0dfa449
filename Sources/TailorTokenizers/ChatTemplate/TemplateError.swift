/// The one error a chat template throws, while parsing or while rendering.
///
/// It names where in the template the problem is (`line` and `column`, 1-based, counted in Unicode
/// scalars after the template's newlines are normalised to `\n`) and what went wrong. A template's own
/// `raise_exception('...')` arrives as `.raised` with the template's message, unchanged, so callers can
/// show it to the user as it is ("Conversation roles must alternate ...").
public struct TemplateError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable, Equatable {
        /// The template text is not valid Jinja (unclosed tag, unknown statement, bad expression).
        case syntax
        /// A filter name that neither Jinja nor transformers defines (`|from_json`).
        case unknownFilter
        /// A test name (`is foo`) that Jinja does not define.
        case unknownTest
        /// An undefined value was used where Jinja requires a value: called, attribute read, arithmetic.
        case undefined
        /// An operation on values of the wrong type (`'a' + 1`, iterating `none`, `len` of a number).
        case type
        /// The template called `raise_exception(message)`; `message` is the template's own text.
        case raised
        /// transformers' sandbox refuses the operation (mutating a list or dict, `_private` namespace names).
        case security
        /// Anything else a Python-side render would raise (division by zero, bad format string ...).
        case runtime
        /// The render went past one of Tailor's limits (`RenderLimits`: output size, list size, loop
        /// iterations, integers beyond 64 bits) that keep a hostile template from exhausting memory or time.
        case limit
    }

    public let kind: Kind
    public let message: String
    /// 1-based line of the tag or expression that failed; 0 when unknown.
    public let line: Int
    /// 1-based column of the tag or expression that failed; 0 when unknown.
    public let column: Int
    /// The template's name when one was given to `ChatTemplate(source:name:)`.
    public let templateName: String?

    public init(kind: Kind, message: String, line: Int = 0, column: Int = 0, templateName: String? = nil) {
        self.kind = kind
        self.message = message
        self.line = line
        self.column = column
        self.templateName = templateName
    }

    public var description: String {
        let place = "\(templateName ?? "chat template"):\(line):\(column)"
        switch kind {
        case .raised: return "\(place): the template raised: \(message)"
        case .syntax: return "\(place): syntax error: \(message)"
        case .unknownFilter: return "\(place): \(message) (the template uses a filter Tailor and transformers do not define)"
        case .unknownTest: return "\(place): \(message)"
        case .undefined: return "\(place): undefined value: \(message)"
        case .type: return "\(place): type error: \(message)"
        case .security: return "\(place): refused by the sandbox: \(message)"
        case .runtime: return "\(place): \(message)"
        case .limit: return "\(place): stopped: \(message)"
        }
    }
}

/// An error raised while evaluating, before the interpreter attaches the source position.
struct RawTemplateError: Error {
    let kind: TemplateError.Kind
    let message: String
    /// Byte offset into the normalised source, when the thrower knows it.
    var offset: Int?

    init(_ kind: TemplateError.Kind, _ message: String, offset: Int? = nil) {
        self.kind = kind
        self.message = message
        self.offset = offset
    }
}
