/// Builds the AST from tokens with jinja2's grammar and operator precedence:
/// conditional `a if c else b` < `or` < `and` < `not` < comparisons/`in` < `+ -` < `~` < `* / // %`
/// < `**` < unary `-`/`+` < postfix (`.x`, `[i]`, `(args)`), filters `|f` and tests `is t`.
struct Parser {
    private let tokens: [Token]
    private var index = 0
    /// Filters/tests unknown to Jinja used outside an `if`: jinja2 rejects these when compiling.
    private(set) var unknownOutsideConditionals: [(kind: TemplateError.Kind, name: String, offset: Int)] = []
    private var softFrame = false
    private var loopDepth = 0
    /// Open blocks and sub-expressions: the parser and the renderer recurse once per level, so a
    /// hostile `[[[[...` or `(((...` would overflow the stack; jinja2 gives up too (RecursionError).
    private var nesting = 0
    static let maxNesting = 100
    /// Operators, attribute/item/call suffixes and filters in one expression: chained left to
    /// right they make a tree as deep as the chain (`1+1+1+…`), which the renderer recurses down,
    /// so a long chain is refused like deep nesting. Real templates stay far below.
    private var links = 0
    static let maxLinks = 1000
    /// parseExpression calls open now: 0 outside any expression.
    private var openExpressions = 0

    /// Counts one more operator or suffix of the current expression.
    private mutating func link() throws {
        links += 1
        guard links <= Self.maxLinks else {
            throw RawTemplateError(.limit, "an expression chains more than \(Self.maxLinks) operators, filters or suffixes", offset: current.offset)
        }
    }

    private mutating func nested<T>(_ body: (inout Parser) throws -> T) throws -> T {
        nesting += 1
        defer { nesting -= 1 }
        guard nesting <= Self.maxNesting else {
            throw RawTemplateError(.limit, "blocks or expressions nested more than \(Self.maxNesting) deep", offset: current.offset)
        }
        return try body(&self)
    }

    init(tokens: [Token]) {
        self.tokens = tokens
    }

    // MARK: tokens

    private var current: Token { index < tokens.count ? tokens[index] : Token(kind: .end, offset: tokens.last?.offset ?? 0) }
    private func peek(_ n: Int = 1) -> Token {
        index + n < tokens.count ? tokens[index + n] : Token(kind: .end, offset: tokens.last?.offset ?? 0)
    }
    private mutating func advance() { index += 1 }

    private func fail(_ message: String, _ token: Token? = nil) -> RawTemplateError {
        RawTemplateError(.syntax, message, offset: (token ?? current).offset)
    }

    private func describe(_ kind: Token.Kind) -> String {
        switch kind {
        case .text: return "template data"
        case .variableBegin: return "'{{'"
        case .variableEnd: return "'}}'"
        case .blockBegin: return "'{%'"
        case .blockEnd: return "end of statement block"
        case .name(let n): return "'\(n)'"
        case .string(let s): return "string \(pythonStringRepr(s))"
        case .integer(let i): return "integer \(i)"
        case .float(let d): return "float \(d)"
        case .op(let o): return "'\(o)'"
        case .end: return "end of template"
        }
    }

    private func isOp(_ op: String) -> Bool {
        if case .op(let o) = current.kind { return o == op }
        return false
    }

    private func isName(_ name: String, _ token: Token? = nil) -> Bool {
        if case .name(let n) = (token ?? current).kind { return n == name }
        return false
    }

    private mutating func skipOp(_ op: String) -> Bool {
        if isOp(op) {
            advance()
            return true
        }
        return false
    }

    private mutating func skipName(_ name: String) -> Bool {
        if isName(name) {
            advance()
            return true
        }
        return false
    }

    private mutating func expectOp(_ op: String) throws {
        guard skipOp(op) else { throw fail("expected '\(op)', got \(describe(current.kind))") }
    }

    private mutating func expectName() throws -> String {
        guard case .name(let n) = current.kind else { throw fail("expected a name, got \(describe(current.kind))") }
        advance()
        return n
    }

    private mutating func expectBlockEnd() throws {
        guard current.kind == .blockEnd else {
            throw fail("expected end of statement block, got \(describe(current.kind))")
        }
        advance()
    }

    // MARK: statements

    mutating func parseTemplate() throws -> [Node] {
        let (body, _) = try parseBody(until: [])
        return body
    }

    /// Parses nodes until a block tag whose name is in `endTags` (consumed, returned; the rest of
    /// that tag is left for the caller).
    private mutating func parseBody(until endTags: Set<String>) throws -> ([Node], String?) {
        try nested { try $0.parseBodyNested(until: endTags) }
    }

    private mutating func parseBodyNested(until endTags: Set<String>) throws -> ([Node], String?) {
        var nodes: [Node] = []
        while true {
            let token = current
            switch token.kind {
            case .end:
                if endTags.isEmpty { return (nodes, nil) }
                let expected = endTags.sorted().map { "'\($0)'" }.joined(separator: " or ")
                throw fail("unexpected end of template; Jinja was looking for \(expected)")
            case .text(let s):
                advance()
                nodes.append(.text(s))
            case .variableBegin:
                advance()
                let expr = try parseTuple()
                guard current.kind == .variableEnd else { throw fail("expected '}}', got \(describe(current.kind))") }
                advance()
                nodes.append(.output(expr, offset: token.offset))
            case .blockBegin:
                advance()
                guard case .name(let tag) = current.kind else { throw fail("expected a statement name after '{%'") }
                if endTags.contains(tag) {
                    advance()
                    return (nodes, tag)
                }
                nodes.append(try parseStatement(tag, offset: token.offset))
            default:
                throw fail("unexpected \(describe(token.kind))")
            }
        }
    }

    private mutating func parseStatement(_ tag: String, offset: Int) throws -> Node {
        let tagToken = current
        advance()
        switch tag {
        case "if": return try parseIf()
        case "for": return try parseFor(offset: offset)
        case "set": return try parseSet(offset: offset)
        case "macro": return try parseMacro(offset: offset)
        case "call": return try parseCallBlock(offset: offset)
        case "filter": return try parseFilterBlock(offset: offset)
        case "generation":
            try expectBlockEnd()
            let body = try inFrame { p in try p.parseBody(until: ["endgeneration"]).0 }
            try expectBlockEnd()
            return .generation(body, offset: offset)
        case "with":
            var assignments: [(Target, Expr)] = []
            while current.kind != .blockEnd {
                if !assignments.isEmpty { try expectOp(",") }
                let target = try parseAssignTarget(allowNamespace: false)
                try expectOp("=")
                assignments.append((target, try parseExpression()))
            }
            try expectBlockEnd()
            let body = try inFrame { p in try p.parseBody(until: ["endwith"]).0 }
            try expectBlockEnd()
            return .with(assignments, body: body)
        case "break", "continue":
            guard loopDepth > 0 else { throw fail("'\(tag)' outside of a loop", tagToken) }
            try expectBlockEnd()
            return tag == "break" ? .break(offset: offset) : .continue(offset: offset)
        default:
            throw fail("Encountered unknown tag '\(tag)'.", tagToken)
        }
    }

    /// Runs `body` with jinja2's "hard" frame rules: unknown filters in it fail at parse time.
    private mutating func inFrame<T>(_ body: (inout Parser) throws -> T) throws -> T {
        let saved = softFrame
        softFrame = false
        defer { softFrame = saved }
        return try body(&self)
    }

    private mutating func parseIf() throws -> Node {
        let saved = softFrame
        softFrame = true
        defer { softFrame = saved }
        var branches: [(Expr, [Node])] = []
        var condition = try parseTuple(withConditional: false)
        try expectBlockEnd()
        while true {
            let (body, end) = try parseBody(until: ["elif", "else", "endif"])
            branches.append((condition, body))
            switch end {
            case "elif":
                condition = try parseTuple(withConditional: false)
                try expectBlockEnd()
            case "else":
                try expectBlockEnd()
                let (otherwise, _) = try parseBody(until: ["endif"])
                try expectBlockEnd()
                return .if(branches, otherwise: otherwise)
            default:
                try expectBlockEnd()
                return .if(branches, otherwise: nil)
            }
        }
    }

    private mutating func parseFor(offset: Int) throws -> Node {
        let target = try parseAssignTarget(allowNamespace: false, extraEnd: "in")
        guard skipName("in") else { throw fail("expected 'in' in for loop") }
        let iterable = try parseTuple(withConditional: false, extraEnd: "recursive")
        var condition: Expr?
        try inFrame { p in
            if p.skipName("if") { condition = try p.parseExpression() }
        }
        if skipName("recursive") { throw fail("recursive for loops are not supported") }
        try expectBlockEnd()
        loopDepth += 1
        let (body, end) = try inFrame { p in try p.parseBody(until: ["endfor", "else"]) }
        loopDepth -= 1
        var otherwise: [Node] = []
        if end == "else" {
            try expectBlockEnd()
            otherwise = try inFrame { p in try p.parseBody(until: ["endfor"]).0 }
        }
        try expectBlockEnd()
        return .for(target: target, iterable: iterable, condition: condition, body: body, otherwise: otherwise, offset: offset)
    }

    private mutating func parseSet(offset: Int) throws -> Node {
        let target = try parseAssignTarget(allowNamespace: true)
        if skipOp("=") {
            let value = try parseTuple()
            try expectBlockEnd()
            return .set(target, value, offset: offset)
        }
        var filters: [Application] = []
        while skipOp("|") { filters.append(try parseApplication(isFilter: true)) }
        try expectBlockEnd()
        let body = try inFrame { p in try p.parseBody(until: ["endset"]).0 }
        try expectBlockEnd()
        return .setBlock(target, filters: filters, body: body, offset: offset)
    }

    private mutating func parseParameters() throws -> [(String, Expr?)] {
        var parameters: [(String, Expr?)] = []
        try expectOp("(")
        while !isOp(")") {
            if !parameters.isEmpty { try expectOp(",") }
            if isOp(")") { break }
            let name = try expectName()
            var defaultValue: Expr?
            if skipOp("=") { defaultValue = try parseExpression() }
            parameters.append((name, defaultValue))
        }
        try expectOp(")")
        return parameters
    }

    private mutating func parseMacro(offset: Int) throws -> Node {
        let name = try expectName()
        let parameters = try parseParameters()
        try expectBlockEnd()
        let savedLoop = loopDepth
        loopDepth = 0
        let body = try inFrame { p in try p.parseBody(until: ["endmacro"]).0 }
        loopDepth = savedLoop
        if case .name = current.kind { advance() }
        try expectBlockEnd()
        return .macro(MacroDefinition(name: name, parameters: parameters, body: body, offset: offset))
    }

    private mutating func parseCallBlock(offset: Int) throws -> Node {
        let callerParameters = isOp("(") ? try parseParameters() : []
        let call = try parseExpression()
        guard case .call = call else { throw fail("expected a call after '{% call %}'") }
        try expectBlockEnd()
        let body = try inFrame { p in try p.parseBody(until: ["endcall"]).0 }
        try expectBlockEnd()
        return .callBlock(call: call, callerParameters: callerParameters, body: body, offset: offset)
    }

    private mutating func parseFilterBlock(offset: Int) throws -> Node {
        var filters = [try parseApplication(isFilter: true)]
        while skipOp("|") { filters.append(try parseApplication(isFilter: true)) }
        try expectBlockEnd()
        let body = try inFrame { p in try p.parseBody(until: ["endfilter"]).0 }
        try expectBlockEnd()
        return .filterBlock(filters, body: body, offset: offset)
    }

    private mutating func parseAssignTarget(allowNamespace: Bool, extraEnd: String? = nil) throws -> Target {
        func single(_ p: inout Parser) throws -> Target {
            let offset = p.current.offset
            let name = try p.expectName()
            if allowNamespace && p.isOp(".") {
                p.advance()
                return .attribute(name, try p.expectName(), offset: offset)
            }
            return .name(name)
        }
        if skipOp("(") {
            var items: [Target] = []
            while !isOp(")") {
                if !items.isEmpty { try expectOp(",") }
                if isOp(")") { break }
                items.append(try parseAssignTarget(allowNamespace: false))
            }
            try expectOp(")")
            return .tuple(items)
        }
        let first = try single(&self)
        guard isOp(",") else { return first }
        var items = [first]
        while skipOp(",") {
            if current.kind == .blockEnd || isOp("=") || (extraEnd.map { isName($0) } ?? false) { break }
            items.append(try single(&self))
        }
        return .tuple(items)
    }

    // MARK: expressions

    /// `a, b` makes a tuple; a lone expression stays itself.
    mutating func parseTuple(withConditional: Bool = true, extraEnd: String? = nil) throws -> Expr {
        if openExpressions == 0 { links = 0 }  // a statement's expression starts afresh
        var items: [Expr] = []
        var sawComma = false
        while true {
            if !items.isEmpty {
                guard skipOp(",") else { break }
                sawComma = true
            }
            if current.kind == .variableEnd || current.kind == .blockEnd || isOp(")")
                || (extraEnd.map { isName($0) } ?? false) || (!withConditional && isName("if"))
            {
                break
            }
            items.append(withConditional ? try parseExpression() : try parseOr())
        }
        if !sawComma {
            guard let only = items.first else { throw fail("expected an expression, got \(describe(current.kind))") }
            return only
        }
        return .tuple(items)
    }

    mutating func parseExpression() throws -> Expr {
        if openExpressions == 0 { links = 0 }  // a new outermost expression
        openExpressions += 1
        defer { openExpressions -= 1 }
        return try nested { try $0.parseExpressionNested() }
    }

    private mutating func parseExpressionNested() throws -> Expr {
        var expr = try parseOr()
        while skipName("if") {
            try link()
            let saved = softFrame
            softFrame = true
            defer { softFrame = saved }
            let condition = try parseOr()
            var otherwise: Expr?
            if skipName("else") { otherwise = try parseExpression() }
            expr = .conditional(condition: condition, then: expr, otherwise: otherwise)
        }
        return expr
    }

    private mutating func parseOr() throws -> Expr {
        var left = try parseAnd()
        while skipName("or") { try link(); left = .or(left, try parseAnd()) }
        return left
    }

    private mutating func parseAnd() throws -> Expr {
        var left = try parseNot()
        while skipName("and") { try link(); left = .and(left, try parseNot()) }
        return left
    }

    private mutating func parseNot() throws -> Expr {
        if skipName("not") { return .not(try nested { try $0.parseNot() }) }
        return try parseCompare()
    }

    private mutating func parseCompare() throws -> Expr {
        let offset = current.offset
        let first = try parseMath1()
        var operations: [(CompareOperator, Expr)] = []
        while true {
            if case .op(let o) = current.kind, let op = CompareOperator(rawValue: o), op != .in, op != .notIn {
                advance()
                operations.append((op, try parseMath1()))
            } else if skipName("in") {
                operations.append((.in, try parseMath1()))
            } else if isName("not") && isName("in", peek()) {
                advance()
                advance()
                operations.append((.notIn, try parseMath1()))
            } else {
                break
            }
        }
        return operations.isEmpty ? first : .compare(first, operations, offset: offset)
    }

    private mutating func parseMath1() throws -> Expr {
        var left = try parseConcat()
        while case .op(let o) = current.kind, o == "+" || o == "-" {
            let offset = current.offset
            advance()
            try link()
            left = .binary(o == "+" ? .add : .sub, left, try parseConcat(), offset: offset)
        }
        return left
    }

    private mutating func parseConcat() throws -> Expr {
        var left = try parseMath2()
        while isOp("~") {
            let offset = current.offset
            advance()
            try link()
            left = .binary(.concat, left, try parseMath2(), offset: offset)
        }
        return left
    }

    private mutating func parseMath2() throws -> Expr {
        var left = try parsePow()
        while case .op(let o) = current.kind, let op = BinaryOperator(rawValue: o), [.mul, .div, .floorDiv, .mod].contains(op) {
            let offset = current.offset
            advance()
            try link()
            left = .binary(op, left, try parsePow(), offset: offset)
        }
        return left
    }

    private mutating func parsePow() throws -> Expr {
        var left = try parseUnary()
        while isOp("**") {
            let offset = current.offset
            advance()
            try link()
            left = .binary(.pow, left, try parseUnary(), offset: offset)
        }
        return left
    }

    private mutating func parseUnary(withFilter: Bool = true) throws -> Expr {
        try nested { try $0.parseUnaryNested(withFilter: withFilter) }
    }

    private mutating func parseUnaryNested(withFilter: Bool) throws -> Expr {
        let offset = current.offset
        var node: Expr
        if skipOp("-") {
            node = .negate(try parseUnary(withFilter: false), offset: offset)
        } else if skipOp("+") {
            node = .plus(try parseUnary(withFilter: false), offset: offset)
        } else {
            node = try parsePrimary()
        }
        node = try parsePostfix(node)
        if withFilter { node = try parseFilterExpression(node) }
        return node
    }

    private mutating func parsePrimary() throws -> Expr {
        let token = current
        switch token.kind {
        case .name(let n):
            advance()
            switch n {
            case "true", "True": return .constant(.bool(true))
            case "false", "False": return .constant(.bool(false))
            case "none", "None": return .constant(.none)
            default: return .name(n, offset: token.offset)
            }
        case .string(var s):
            advance()
            while case .string(let more) = current.kind {
                s += more
                advance()
            }
            return .constant(.string(s))
        case .integer(let i):
            advance()
            return .constant(.int(i))
        case .float(let d):
            advance()
            return .constant(.double(d))
        case .op("("):
            advance()
            if skipOp(")") { return .tuple([]) }
            let inner = try parseTuple()
            try expectOp(")")
            return inner
        case .op("["):
            advance()
            var items: [Expr] = []
            while !isOp("]") {
                if !items.isEmpty { try expectOp(",") }
                if isOp("]") { break }
                items.append(try parseExpression())
            }
            try expectOp("]")
            return .list(items)
        case .op("{"):
            advance()
            var pairs: [(Expr, Expr)] = []
            while !isOp("}") {
                if !pairs.isEmpty { try expectOp(",") }
                if isOp("}") { break }
                let key = try parseExpression()
                try expectOp(":")
                pairs.append((key, try parseExpression()))
            }
            try expectOp("}")
            return .dict(pairs)
        default:
            throw fail("unexpected \(describe(token.kind))")
        }
    }

    private mutating func parsePostfix(_ start: Expr) throws -> Expr {
        var node = start
        while true {
            let offset = current.offset
            if isOp(".") || isOp("[") || isOp("(") { try link() }
            if skipOp(".") {
                switch current.kind {
                case .name(let n):
                    advance()
                    node = .attribute(node, n, offset: offset)
                case .integer(let i):
                    advance()
                    node = .item(node, .constant(.int(i)), offset: offset)
                default:
                    throw fail("expected an attribute name after '.'")
                }
            } else if skipOp("[") {
                node = try parseSubscript(node, offset: offset)
            } else if isOp("(") {
                node = try parseCall(node)
            } else {
                return node
            }
        }
    }

    private mutating func parseSubscript(_ target: Expr, offset: Int) throws -> Expr {
        var parts: [Expr?] = [nil]
        var isSlice = false
        while !isOp("]") {
            if skipOp(":") {
                isSlice = true
                parts.append(nil)
                continue
            }
            guard parts[parts.count - 1] == nil else { throw fail("expected ']' or ':'") }
            parts[parts.count - 1] = try parseExpression()
        }
        try expectOp("]")
        if !isSlice {
            guard let index = parts[0] else { throw fail("expected an index inside '[]'") }
            return .item(target, index, offset: offset)
        }
        guard parts.count <= 3 else { throw fail("too many ':' in slice") }
        return .slice(target, start: parts[0], stop: parts.count > 1 ? parts[1] : nil,
                      step: parts.count > 2 ? parts[2] : nil, offset: offset)
    }

    private mutating func parseArguments() throws -> ([Expr], [(String, Expr)]) {
        try expectOp("(")
        var args: [Expr] = []
        var kwargs: [(String, Expr)] = []
        while !isOp(")") {
            if !(args.isEmpty && kwargs.isEmpty) { try expectOp(",") }
            if isOp(")") { break }
            if case .name(let n) = current.kind, case .op("=") = peek().kind {
                advance()
                advance()
                kwargs.append((n, try parseExpression()))
            } else {
                guard kwargs.isEmpty else { throw fail("positional argument after keyword argument") }
                args.append(try parseExpression())
            }
        }
        try expectOp(")")
        return (args, kwargs)
    }

    private mutating func parseCall(_ callee: Expr) throws -> Expr {
        let offset = current.offset
        let (args, kwargs) = try parseArguments()
        return .call(callee, args: args, kwargs: kwargs, offset: offset)
    }

    private mutating func parseFilterExpression(_ start: Expr) throws -> Expr {
        var node = start
        while true {
            if skipOp("|") {
                try link()
                node = .filter(node, try parseApplication(isFilter: true))
            } else if isName("is") {
                advance()
                let negated = skipName("not")
                try link()
                node = .test(node, try parseApplication(isFilter: false), negated: negated)
            } else if isOp("(") {
                node = try parseCall(node)
            } else {
                return node
            }
        }
    }

    /// A filter (`name(args)`) or a test (`name(args)` or `name arg`).
    private mutating func parseApplication(isFilter: Bool) throws -> Application {
        let offset = current.offset
        var name = try expectName()
        while isOp("."), case .name(let more) = peek().kind {
            advance()
            advance()
            name += "." + more
        }
        let known = isFilter ? Filters.names.contains(name) : JinjaTests.names.contains(name)
        if !known && !softFrame {
            unknownOutsideConditionals.append((isFilter ? .unknownFilter : .unknownTest, name, offset))
        }
        var args: [Expr] = []
        var kwargs: [(String, Expr)] = []
        if isOp("(") {
            (args, kwargs) = try parseArguments()
        } else if !isFilter {
            switch current.kind {
            case .name(let n) where !["else", "or", "and"].contains(n):
                if n == "is" { throw fail("You cannot chain multiple tests with is") }
                args = [try parsePostfix(try parsePrimary())]
            case .string, .integer, .float, .op("("), .op("["), .op("{"):
                args = [try parsePostfix(try parsePrimary())]
            default: break
            }
        }
        return Application(name: name, args: args, kwargs: kwargs, offset: offset)
    }
}
