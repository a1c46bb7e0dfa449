import Foundation

/// Expression evaluation with Python/jinja2 semantics.
extension Renderer {
    func evaluate(_ expr: Expr) throws -> Value {
        switch expr {
        case .constant(let c):
            return c.value
        case .name(let name, _):
            return scope.lookup(name) ?? .undefinedName(name)
        case .list(let items):
            return .list(try items.map(evaluate))
        case .tuple(let items):
            return .tuple(try items.map(evaluate))
        case .dict(let pairs):
            var dict = Dict()
            for (k, v) in pairs {
                let key = try evaluate(k)
                dict[value: key] = try evaluate(v)
            }
            return .dict(dict)
        case .attribute(let target, let name, let offset):
            let value = try evaluate(target)
            return try located(offset) { try getAttribute(value, name) }
        case .item(let target, let index, let offset):
            let value = try evaluate(target)
            let key = try evaluate(index)
            return try located(offset) { try getItem(value, key) }
        case .slice(let target, let start, let stop, let step, let offset):
            let value = try evaluate(target)
            func int(_ e: Expr?) throws -> Int? {
                guard let e else { return nil }
                switch try evaluate(e) {
                case .none: return nil
                case .int(let i): return i
                case .bool(let b): return b ? 1 : 0
                default: throw RawTemplateError(.type, "slice indices must be integers or None", offset: offset)
                }
            }
            let (a, b, c) = (try int(start), try int(stop), try int(step))
            return try located(offset) { try slice(value, a, b, c) }
        case .call(let callee, let args, let kwargs, let offset):
            let function = try evaluate(callee)
            let arguments = try evaluateArguments(args, kwargs)
            return try located(offset) { try callValue(function, arguments) }
        case .filter(let input, let application):
            let value = try evaluate(input)
            return try applyFilter(application, to: value)
        case .test(let input, let application, let negated):
            let value = try evaluate(input)
            let result = try applyTest(application, to: value)
            return .bool(negated ? !result : result)
        case .not(let inner):
            return .bool(!(try evaluate(inner).truthy))
        case .negate(let inner, let offset):
            let value = try evaluate(inner)
            return try located(offset) {
                switch value {
                case .int(let i): return .int(-i)
                case .double(let d): return .double(-d)
                case .bool(let b): return .int(b ? -1 : 0)
                case .undefined(let hint): throw undefinedError(hint)
                default: throw RawTemplateError(.type, "bad operand type for unary -: '\(value.typeName)'")
                }
            }
        case .plus(let inner, _):
            return try evaluate(inner)
        case .binary(let op, let l, let r, let offset):
            let left = try evaluate(l)
            let right = try evaluate(r)
            return try located(offset) { try binary(op, left, right) }
        case .and(let l, let r):
            let left = try evaluate(l)
            return left.truthy ? try evaluate(r) : left
        case .or(let l, let r):
            let left = try evaluate(l)
            return left.truthy ? left : try evaluate(r)
        case .compare(let first, let operations, let offset):
            var left = try evaluate(first)
            for (op, expr) in operations {
                let right = try evaluate(expr)
                let holds = try located(offset) { try compare(op, left, right) }
                if !holds { return .bool(false) }
                left = right
            }
            return .bool(true)
        case .conditional(let condition, let then, let otherwise):
            if try evaluate(condition).truthy { return try evaluate(then) }
            if let otherwise { return try evaluate(otherwise) }
            return .undefined(hint: "the inline if-expression evaluated to false and no else section was defined.")
        }
    }

    func located<T>(_ offset: Int, _ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch var error as RawTemplateError where error.offset == nil {
            error.offset = offset
            throw error
        }
    }

    func evaluateArguments(_ args: [Expr], _ kwargs: [(String, Expr)]) throws -> Arguments {
        Arguments(positional: try args.map(evaluate), keyword: try kwargs.map { ($0.0, try evaluate($0.1)) })
    }

    func undefinedError(_ hint: String) -> RawTemplateError {
        RawTemplateError(hint.hasPrefix("access to attribute") ? .security : .undefined, hint)
    }

    func callValue(_ function: Value, _ arguments: Arguments) throws -> Value {
        switch function {
        case .callable(let c): return try c.body(arguments, self)
        case .undefined(let hint): throw undefinedError(hint)
        default: throw RawTemplateError(.type, "'\(function.typeName)' object is not callable")
        }
    }

    // MARK: access

    /// jinja2's sandboxed `getattr`: a method of the object, else its item, else undefined.
    func getAttribute(_ input: Value, _ name: String) throws -> Value {
        let value = input.plain
        switch value {
        case .undefined(let hint):
            throw undefinedError(hint)
        case .dict(let dict):
            if let method = Methods.dictMethod(dict, name) { return method }
            return dict[name] ?? .undefined(hint: "'dict object' has no attribute '\(name)'")
        case .namespace(let ns):
            return ns.attributes[name] ?? .undefined(hint: "'Namespace object' has no attribute '\(name)'")
        case .string(let s):
            if let method = Methods.stringMethod(s, name) { return method }
        case .list(let items):
            if let method = Methods.listMethod(items, name) { return method }
        default:
            break
        }
        return .undefined(hint: "\(value.objectTypeRepr) has no attribute '\(name)'")
    }

    /// jinja2's `getitem`: the item, else (for string keys) the attribute, else undefined.
    func getItem(_ input: Value, _ index: Value) throws -> Value {
        let (value, key) = (input.plain, index.plain)
        switch (value, key) {
        case (.undefined(let hint), _):
            throw undefinedError(hint)
        case (.dict(let dict), _):
            if let v = dict[value: key] { return v }
        case (.list(let items), _):
            if let i = key.intIndex {
                let index = i < 0 ? i + items.count : i
                if index >= 0 && index < items.count { return items[index] }
                return .undefined(hint: "'list object' has no element \(i)")
            }
        case (.string(let s), _):
            if let i = key.intIndex {
                let scalars = Array(s.unicodeScalars)
                let index = i < 0 ? i + scalars.count : i
                if index >= 0 && index < scalars.count { return .string(String(Character(scalars[index]))) }
                return .undefined(hint: "'str object' has no element \(i)")
            }
        default:
            break
        }
        if case .string(let name) = key { return try getAttribute(value, name) }
        return .undefined(hint: "\(value.objectTypeRepr) has no element \(key.pyRepr)")
    }

    func slice(_ value: Value, _ start: Int?, _ stop: Int?, _ step: Int?) throws -> Value {
        switch value.plain {
        case .list(let items):
            return .list(try PyString.sliceIndices(count: items.count, start: start, stop: stop, step: step).map { items[$0] })
        case .string(let s):
            let scalars = Array(s.unicodeScalars)
            let indices = try PyString.sliceIndices(count: scalars.count, start: start, stop: stop, step: step)
            return .string(PyString.string(indices.map { scalars[$0] }))
        case .undefined(let hint):
            throw undefinedError(hint)
        default:
            throw RawTemplateError(.type, "'\(value.typeName)' object is not subscriptable")
        }
    }

    /// Python iteration: lists, dict keys, string characters; undefined iterates as empty.
    func iterate(_ value: Value) throws -> [Value] {
        switch value.plain {
        case .list(let items), .generator(let items): return items
        case .dict(let dict): return dict.keyValues
        case .string(let s): return s.unicodeScalars.map { .string(String(Character($0))) }
        case .undefined: return []
        default: throw RawTemplateError(.type, "'\(value.typeName)' object is not iterable")
        }
    }

    func length(_ value: Value) throws -> Int {
        switch value.plain {
        case .list(let items): return items.count
        case .dict(let dict): return dict.count
        case .string(let s): return s.unicodeScalars.count
        case .undefined: return 0
        default: throw RawTemplateError(.type, "object of type '\(value.typeName)' has no len()")
        }
    }

    // MARK: operators

    /// `x + y`, checked against `RenderLimits.maxLength` (a loop doubling a string grows past any memory).
    private func concatenated(_ x: String, _ y: String, _ what: String) throws -> String {
        try RenderLimits.checkLength(x.utf8.count + y.utf8.count, what)
        return x + y
    }

    func binary(_ op: BinaryOperator, _ left: Value, _ right: Value) throws -> Value {
        if op == .concat { return .string(try concatenated(left.pyStr, right.pyStr, "~")) }
        // markupsafe: Markup + str escapes the str (and str + Markup too, via Markup.__radd__).
        if op == .add {
            switch (left, right) {
            case (.markup(let x), .markup(let y)): return .markup(x + y)
            case (.markup(let x), .string(let y)): return .markup(x + Filters.htmlEscape(y))
            case (.string(let x), .markup(let y)): return .markup(Filters.htmlEscape(x) + y)
            default: break
            }
        }
        let (a, b) = (left.plain, right.plain)
        if case .undefined(let hint) = a { throw undefinedError(hint) }
        if case .undefined(let hint) = b { throw undefinedError(hint) }
        switch (op, a, b) {
        case (.add, .string(let x), .string(let y)): return .string(try concatenated(x, y, "+"))
        case (.add, .list(let x), .list(let y)):
            try RenderLimits.checkItems(x.count + y.count, "+")
            return .list(x + y)
        case (.add, .string, _): throw RawTemplateError(.type, "can only concatenate str (not \"\(b.typeName)\") to str")
        case (.add, .list, _): throw RawTemplateError(.type, "can only concatenate list (not \"\(b.typeName)\") to list")
        case (.mul, .string(let s), _) where b.intIndex != nil: return .string(try RenderLimits.repeated(s, b.intIndex ?? 0, "*"))
        case (.mul, _, .string(let s)) where a.intIndex != nil: return .string(try RenderLimits.repeated(s, a.intIndex ?? 0, "*"))
        case (.mul, .list(let x), _) where b.intIndex != nil: return .list(try RenderLimits.repeated(x, b.intIndex ?? 0, "*"))
        case (.mod, .string(let format), _): return .string(try Methods.percentFormat(format, right))
        default: break
        }
        let isIntegral: (Value) -> Bool = { v in
            if case .int = v { return true }
            if case .bool = v { return true }
            return false
        }
        guard let x = a.numeric, let y = b.numeric else {
            throw RawTemplateError(
                .type, "unsupported operand type(s) for \(op.rawValue): '\(a.typeName)' and '\(b.typeName)'")
        }
        if isIntegral(a) && isIntegral(b), let i = a.intIndex, let j = b.intIndex {
            switch op {
            case .add: return .int(i &+ j)
            case .sub: return .int(i &- j)
            case .mul: return .int(i &* j)
            case .div:
                guard j != 0 else { throw RawTemplateError(.runtime, "ZeroDivisionError: division by zero") }
                return .double(Double(i) / Double(j))
            case .floorDiv:
                guard j != 0 else { throw RawTemplateError(.runtime, "ZeroDivisionError: integer division or modulo by zero") }
                let q = i / j
                return .int((i % j != 0 && (i < 0) != (j < 0)) ? q - 1 : q)
            case .mod:
                guard j != 0 else { throw RawTemplateError(.runtime, "ZeroDivisionError: integer modulo by zero") }
                let r = i % j
                return .int(r != 0 && (r < 0) != (j < 0) ? r + j : r)
            case .pow:
                if j >= 0 {
                    var result = 1
                    for _ in 0..<min(j, 64) { result = result &* i }
                    return .int(result)
                }
                return .double(pow(Double(i), Double(j)))
            case .concat: break
            }
        }
        switch op {
        case .add: return .double(x + y)
        case .sub: return .double(x - y)
        case .mul: return .double(x * y)
        case .div:
            guard y != 0 else { throw RawTemplateError(.runtime, "ZeroDivisionError: float division by zero") }
            return .double(x / y)
        case .floorDiv:
            guard y != 0 else { throw RawTemplateError(.runtime, "ZeroDivisionError: float floor division by zero") }
            return .double((x / y).rounded(.down))
        case .mod:
            guard y != 0 else { throw RawTemplateError(.runtime, "ZeroDivisionError: float modulo") }
            let r = x.truncatingRemainder(dividingBy: y)
            return .double(r != 0 && (r < 0) != (y < 0) ? r + y : r)
        case .pow: return .double(pow(x, y))
        case .concat: return .string(a.pyStr + b.pyStr)
        }
    }

    func compare(_ op: CompareOperator, _ a: Value, _ b: Value) throws -> Bool {
        switch op {
        case .eq: return a.pyEquals(b)
        case .ne: return !a.pyEquals(b)
        case .lt: return try a.pyLess(b)
        case .gt: return try b.pyLess(a)
        case .le: return try a.pyLess(b) || a.pyEquals(b)
        case .ge: return try b.pyLess(a) || a.pyEquals(b)
        case .in: return try contains(b, a)
        case .notIn: return !(try contains(b, a))
        }
    }

    /// Python `item in container`.
    func contains(_ container: Value, _ element: Value) throws -> Bool {
        let item = element.plain
        switch container.plain {
        case .string(let s):
            guard case .string(let needle) = item else {
                if case .undefined(let hint) = item { throw undefinedError(hint) }
                throw RawTemplateError(.type, "'in <string>' requires string as left operand, not \(item.typeName)")
            }
            return PyString.contains(s, needle)
        case .list(let items), .generator(let items):
            return items.contains { $0.pyEquals(item) }
        case .dict(let dict):
            return dict[value: item] != nil
        case .undefined:
            return false
        default:
            throw RawTemplateError(.type, "argument of type '\(container.typeName)' is not iterable")
        }
    }
}

extension Value {
    /// An integer index (ints and bools, as Python allows).
    var intIndex: Int? {
        switch self {
        case .int(let i): return i
        case .bool(let b): return b ? 1 : 0
        default: return nil
        }
    }

    /// jinja2's `object_type_repr`, used in "... has no attribute" messages.
    var objectTypeRepr: String {
        switch self {
        case .none: return "None"
        case .undefined: return "Undefined"
        default: return "'\(typeName) object'"
        }
    }
}
