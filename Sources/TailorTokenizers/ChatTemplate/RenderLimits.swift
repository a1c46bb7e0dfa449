/// What stops a chat template from a stranger's model folder exhausting memory or time: every
/// render counts its loop iterations and macro calls, and every string or list an operation builds
/// is measured before it is allocated. Past a limit the render throws `TemplateError` of kind
/// `.limit`, naming the template and the place.
///
/// The limits are far above what real templates use: the 61 templates under shared/templates
/// render a conversation in a few kilobytes and a few hundred steps; a long chat dataset record
/// (thousands of messages, megabytes of text) stays well inside them.
enum RenderLimits {
    /// The longest string, in UTF-8 bytes (counted in constant time), one operation may build, and
    /// the longest output a render may produce: 64 MiB.
    static let maxLength = 1 << 26
    /// The most items one list may hold when built by `range`, `*` or `batch`: 16 Mi.
    static let maxItems = 1 << 24
    /// Loop iterations plus macro calls in one render: a million (a few seconds of work at most;
    /// a 1,000-message conversation walked once per message is that many).
    static let maxSteps = 1_000_000

    /// Throws when a string of `count` UTF-8 bytes would pass `maxLength`; `what` names the operation.
    static func checkLength(_ count: Int, _ what: String) throws {
        guard count <= maxLength else {
            throw RawTemplateError(.limit, "\(what) would make a string of \(count) bytes; Tailor stops templates at \(maxLength) (is the template in a runaway loop?)")
        }
    }

    /// Throws when a list of `count` items would pass `maxItems`.
    static func checkItems(_ count: Int, _ what: String) throws {
        guard count <= maxItems else {
            throw RawTemplateError(.limit, "\(what) would make a list of \(count) items; Tailor stops templates at \(maxItems)")
        }
    }

    /// The product `a * b`, or `Int.max` when it overflows (then past every limit).
    static func product(_ a: Int, _ b: Int) -> Int {
        let (value, overflow) = a.multipliedReportingOverflow(by: b)
        return overflow ? Int.max : value
    }

    /// The sum `a + b`, or `Int.max` when it overflows.
    static func sum(_ a: Int, _ b: Int) -> Int {
        let (value, overflow) = a.addingReportingOverflow(b)
        return overflow ? Int.max : value
    }

    /// `s` repeated `count` times (0 when negative), checked against `maxLength` first.
    static func repeated(_ s: String, _ count: Int, _ what: String) throws -> String {
        let times = max(0, count)
        try checkLength(product(s.utf8.count, times), what)
        return String(repeating: s, count: times)
    }

    /// `items` repeated `count` times (0 when negative), checked against `maxItems` first.
    static func repeated(_ items: [Value], _ count: Int, _ what: String) throws -> [Value] {
        let times = max(0, count)
        try checkItems(product(items.count, times), what)
        return Array([[Value]](repeating: items, count: times).joined())
    }

    /// `d` as an `Int` the way Python's `int(d)` truncates it; throws for NaN, infinities and
    /// values beyond 64 bits (Python would make a big integer, which Tailor's templates do not have).
    static func truncatedInt(_ d: Double, _ what: String) throws -> Int {
        guard d.isFinite else {
            throw RawTemplateError(.runtime, "ValueError: \(what): cannot convert float \(d) to integer")
        }
        guard let i = Int(exactly: d.rounded(.towardZero)) else {
            throw RawTemplateError(.limit, "\(what): \(d) does not fit a 64-bit integer (Tailor's templates have no big integers)")
        }
        return i
    }
}
