import TailorInference

/// The text of one choice as it streams, with OpenAI's stop semantics: a stop string ends the
/// answer and is not part of it, so text that may turn out to start a stop string is held back
/// until the next token shows it does not (the stream lags one token when stop strings are set).
struct ChoiceText {
    /// Bytes of the longest stop string less one: how far back a stop found at the next token can start.
    let holdBack: Int
    let hasStops: Bool
    private(set) var full: [UInt8] = []
    private(set) var emitted = 0

    init(stops: [String]) {
        hasStops = !stops.isEmpty
        holdBack = max(0, (stops.map(\.utf8.count).max() ?? 0) - 1)
    }

    /// Adds a token's text; returns the text now safe to send.
    mutating func add(_ piece: String) -> String {
        guard hasStops else {
            full += piece.utf8
            emitted = full.count
            return piece
        }
        // The previous token did not end the answer: any stop still to come ends after `full`.
        let delta = take(upTo: full.count - holdBack)
        full += piece.utf8
        return delta
    }

    /// The answer's final text (a closing stop string cut off) and the part not yet sent.
    /// `text` is the generator's whole text: the pieces so far and what its decoder flushed at the end.
    mutating func finish(_ reason: FinishReason, text: String) -> (text: String, delta: String) {
        let whole = Array(text.utf8)
        if whole.count >= full.count && whole.starts(with: full) { full = whole }
        var end = full.count
        if case .stopString(let stop) = reason, let at = Self.lastRange(of: Array(stop.utf8), in: full) { end = at }
        let delta = take(upTo: end)
        return (String(decoding: full[0..<end], as: UTF8.self), delta)
    }

    /// Sends bytes up to `limit` (moved back to a character boundary).
    private mutating func take(upTo limit: Int) -> String {
        var end = min(limit, full.count)
        while end > emitted && end < full.count && full[end] & 0xC0 == 0x80 { end -= 1 }
        guard end > emitted else { return "" }
        defer { emitted = end }
        return String(decoding: full[emitted..<end], as: UTF8.self)
    }

    static func lastRange(of needle: [UInt8], in haystack: [UInt8]) -> Int? {
        guard !needle.isEmpty, needle.count <= haystack.count else { return nil }
        var start = haystack.count - needle.count
        while start >= 0 {
            if haystack[start..<(start + needle.count)].elementsEqual(needle) { return start }
            start -= 1
        }
        return nil
    }
}
