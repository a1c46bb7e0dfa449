/// The parsed template. Every node carries the byte offset of its source so that errors can name
/// line and column. Nodes are immutable values, so a parsed template is `Sendable` and reusable.
enum Constant: Sendable {
    case none, bool(Bool), int(Int), double(Double), string(String)

    var value: Value {
        switch self {
        case .none: return .none
        case .bool(let b): return .bool(b)
        case .int(let i): return .int(i)
        case .double(let d): return .double(d)
        case .string(let s): return .string(s)
        }
    }
}

enum BinaryOperator: String, Sendable {
    case add = "+", sub = "-", mul = "*", div = "/", floorDiv = "//", mod = "%", pow = "**", concat = "~"
}

enum CompareOperator: String, Sendable {
    case eq = "==", ne = "!=", lt = "<", le = "<=", gt = ">", ge = ">=", `in` = "in", notIn = "not in"
}

/// A filter or test application: `name(args, key=value)`.
struct Application: Sendable {
    let name: String
    let args: [Expr]
    let kwargs: [(String, Expr)]
    let offset: Int
}

indirect enum Expr: Sendable {
    case constant(Constant)
    case name(String, offset: Int)
    case list([Expr])
    case tuple([Expr])
    case dict([(Expr, Expr)])
    case attribute(Expr, String, offset: Int)
    case item(Expr, Expr, offset: Int)
    case slice(Expr, start: Expr?, stop: Expr?, step: Expr?, offset: Int)
    case call(Expr, args: [Expr], kwargs: [(String, Expr)], offset: Int)
    case filter(Expr, Application)
    case test(Expr, Application, negated: Bool)
    case not(Expr)
    case negate(Expr, offset: Int)
    case plus(Expr, offset: Int)
    case binary(BinaryOperator, Expr, Expr, offset: Int)
    case and(Expr, Expr)
    case or(Expr, Expr)
    case compare(Expr, [(CompareOperator, Expr)], offset: Int)
    case conditional(condition: Expr, then: Expr, otherwise: Expr?)
}

/// What `set` and `for` assign to.
indirect enum Target: Sendable {
    case name(String)
    case tuple([Target])
    /// `ns.attr` (only namespaces accept attribute assignment).
    case attribute(String, String, offset: Int)
}

struct MacroDefinition: Sendable {
    let name: String
    let parameters: [(String, Expr?)]
    let body: [Node]
    let offset: Int
}

indirect enum Node: Sendable {
    case text(String)
    case output(Expr, offset: Int)
    case `if`([(Expr, [Node])], otherwise: [Node]?)
    case `for`(target: Target, iterable: Expr, condition: Expr?, body: [Node], otherwise: [Node], offset: Int)
    case set(Target, Expr, offset: Int)
    case setBlock(Target, filters: [Application], body: [Node], offset: Int)
    case macro(MacroDefinition)
    /// `{% call(params) callee(args) %}body{% endcall %}`; the body becomes `caller`.
    case callBlock(call: Expr, callerParameters: [(String, Expr?)], body: [Node], offset: Int)
    case filterBlock([Application], body: [Node], offset: Int)
    /// transformers' `{% generation %}`: renders its body and records the span it produced.
    case generation([Node], offset: Int)
    case with([(Target, Expr)], body: [Node])
    case `break`(offset: Int)
    case `continue`(offset: Int)
}
