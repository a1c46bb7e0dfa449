/// jinja2's tests (`x is defined`, `x is divisibleby 3`, ...).
enum JinjaTests {
    static let names: Set<String> = [
        "boolean", "callable", "defined", "divisibleby", "eq", "equalto", "==", "escaped", "even", "false",
        "filter", "float", "ge", ">=", "gt", "greaterthan", ">", "in", "integer", "iterable", "le", "<=",
        "lower", "lt", "lessthan", "<", "mapping", "ne", "!=", "none", "number", "odd", "sameas", "sequence",
        "string", "test", "true", "undefined", "upper",
    ]

    static func apply(_ name: String, _ input: Value, _ args: Arguments, _ r: Renderer) throws -> Bool {
        let value = input.plain
        func argument() throws -> Value { try args.bind(name, [("other", nil)])[0] }
        switch name {
        case "defined": return !value.isUndefined
        case "undefined": return value.isUndefined
        case "none": return value.isNoneValue
        case "boolean":
            if case .bool = value { return true }
            return false
        case "true":
            if case .bool(true) = value { return true }
            return false
        case "false":
            if case .bool(false) = value { return true }
            return false
        case "integer":
            if case .int = value { return true }
            return false
        case "float":
            if case .double = value { return true }
            return false
        case "number": return value.numeric != nil
        case "string":
            if case .string = value { return true }
            return false
        case "mapping":
            if case .dict = value { return true }
            return false
        case "iterable":
            switch value {
            case .list, .dict, .string, .generator, .undefined: return true
            default: return false
            }
        case "sequence":
            switch value {
            case .list, .dict, .string, .undefined: return true
            default: return false
            }
        case "callable":
            if case .callable = value { return true }
            return false
        case "escaped": return false
        case "odd", "even":
            guard let i = value.intIndex else { throw RawTemplateError(.type, "\(name) test needs an integer") }
            let odd = ((i % 2) + 2) % 2 == 1
            return name == "odd" ? odd : !odd
        case "divisibleby":
            let other = try argument()
            guard let i = value.intIndex, let j = other.intIndex else {
                throw RawTemplateError(.type, "divisibleby test needs integers")
            }
            guard j != 0 else { throw RawTemplateError(.runtime, "ZeroDivisionError: integer modulo by zero") }
            return i % j == 0
        case "eq", "equalto", "==": return value.pyEquals(try argument())
        case "ne", "!=": return !value.pyEquals(try argument())
        case "lt", "lessthan", "<": return try value.pyLess(try argument())
        case "le", "<=":
            let other = try argument()
            return try value.pyLess(other) || value.pyEquals(other)
        case "gt", "greaterthan", ">": return try argument().pyLess(value)
        case "ge", ">=":
            let other = try argument()
            return try other.pyLess(value) || value.pyEquals(other)
        case "in": return try r.contains(try argument(), value)
        case "sameas":
            let other = try argument()
            switch (value, other) {
            case (.none, .none): return true
            case (.bool(let a), .bool(let b)): return a == b
            case (.namespace(let a), .namespace(let b)): return a === b
            case (.callable(let a), .callable(let b)): return a === b
            case (.int(let a), .int(let b)): return a == b && (-5...256).contains(a)
            default: return false
            }
        case "lower":
            guard case .string(let s) = value else { return false }
            return PyString.lower(s) == s && PyString.upper(s) != s
        case "upper":
            guard case .string(let s) = value else { return false }
            return PyString.upper(s) == s && PyString.lower(s) != s
        case "filter": return Filters.names.contains(value.pyStr)
        case "test": return names.contains(value.pyStr)
        default:
            throw RawTemplateError(.unknownTest, "No test named '\(name)'.")
        }
    }
}

extension Renderer {
    func applyFilter(_ application: Application, to value: Value) throws -> Value {
        let arguments = try evaluateArguments(application.args, application.kwargs)
        return try located(application.offset) { try Filters.apply(application.name, value, arguments, self) }
    }

    func applyTest(_ application: Application, to value: Value) throws -> Bool {
        let arguments = try evaluateArguments(application.args, application.kwargs)
        return try located(application.offset) { try JinjaTests.apply(application.name, value, arguments, self) }
    }
}
