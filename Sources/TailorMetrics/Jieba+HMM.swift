/// jieba's `finalseg`: the B/M/E/S hidden Markov model that cuts runs of characters the
/// dictionary does not know, by Viterbi over jieba's probability tables.
struct JiebaHMM: Sendable {
    /// States in jieba's order "BMES".
    enum State: Int, CaseIterable { case b = 0, m, e, s }

    /// log P(first state), log P(state → state) (missing: MIN_FLOAT), log P(scalar | state).
    var start: [Double]
    var transition: [[Double]]
    var emission: [[Unicode.Scalar: Double]]

    static let minFloat = -3.14e100
    /// The states each state may follow (jieba's PrevStatus).
    static let previous: [[State]] = [[.e, .s], [.m, .b], [.b, .m], [.s, .e]]
    /// The letters, for the tie-breaks Python's tuple comparison makes.
    static let letters: [Character] = ["B", "M", "E", "S"]

    /// finalseg's `cut`: CJK runs (U+4E00–U+9FD5) through Viterbi, the rest in runs of
    /// `[a-zA-Z0-9]+(?:\.\d+)?%?` and what lies between them.
    func cut(_ text: Scalars, into words: inout [Scalars]) {
        for (han, block) in PythonText.runs(text, Self.isHan) {
            if han { viterbiCut(block, into: &words) } else { skipCut(block, into: &words) }
        }
    }

    static func isHan(_ s: Unicode.Scalar) -> Bool { s.value >= 0x4E00 && s.value <= 0x9FD5 }

    /// `re_skip.split(block)`'s non-empty pieces.
    func skipCut(_ block: Scalars, into words: inout [Scalars]) {
        var pending: Scalars = [], i = 0
        while i < block.count {
            guard PythonText.isASCIIAlphanumeric(block[i]) else { pending.append(block[i]); i += 1; continue }
            if !pending.isEmpty { words.append(pending); pending = [] }
            var j = i
            while j < block.count && PythonText.isASCIIAlphanumeric(block[j]) { j += 1 }
            if j + 1 < block.count && block[j] == "." && PythonText.isASCIIDigit(block[j + 1]) {
                j += 1
                while j < block.count && PythonText.isASCIIDigit(block[j]) { j += 1 }
            }
            if j < block.count && block[j] == "%" { j += 1 }
            words.append(Array(block[i..<j]))
            i = j
        }
        if !pending.isEmpty { words.append(pending) }
    }

    /// Python's max over `(probability, state)` tuples: the larger probability, ties to the later letter.
    static func better(_ a: (Double, State), than b: (Double, State)) -> Bool {
        a.0 > b.0 || (a.0 == b.0 && letters[a.1.rawValue] > letters[b.1.rawValue])
    }

    /// finalseg's `viterbi` and `__cut`.
    func viterbiCut(_ obs: Scalars, into words: inout [Scalars]) {
        let n = obs.count
        var value = [[Double]](repeating: [0, 0, 0, 0], count: n)
        var back = [[Int]](repeating: [0, 0, 0, 0], count: n)
        for y in State.allCases { value[0][y.rawValue] = start[y.rawValue] + (emission[y.rawValue][obs[0]] ?? Self.minFloat) }
        if n > 1 {
            for t in 1..<n {
                for y in State.allCases {
                    let em = emission[y.rawValue][obs[t]] ?? Self.minFloat
                    let candidates = Self.previous[y.rawValue].map { y0 in
                        (value[t - 1][y0.rawValue] + transition[y0.rawValue][y.rawValue] + em, y0)
                    }
                    let best = Self.better(candidates[1], than: candidates[0]) ? candidates[1] : candidates[0]
                    value[t][y.rawValue] = best.0
                    back[t][y.rawValue] = best.1.rawValue
                }
            }
        }
        var state = value[n - 1][State.s.rawValue] >= value[n - 1][State.e.rawValue] ? State.s.rawValue : State.e.rawValue
        var path = [Int](repeating: 0, count: n)
        for t in stride(from: n - 1, through: 0, by: -1) {
            path[t] = state
            state = back[t][state]
        }
        var begin = 0, next = 0
        for i in 0..<n {
            switch State(rawValue: path[i]) {
            case .b: begin = i
            case .e: words.append(Array(obs[begin...i])); next = i + 1
            case .s: words.append([obs[i]]); next = i + 1
            default: break
            }
        }
        if next < n { words.append(Array(obs[next...])) }
    }
}
