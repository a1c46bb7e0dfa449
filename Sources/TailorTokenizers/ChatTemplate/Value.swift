/// The interpreter's runtime value: JSON-like data plus what only templates make (undefined,
/// namespaces, callables, one-shot generators from `map`/`select`). Semantics follow Python and
/// jinja2, since the reference renderer is jinja2 inside transformers.
enum Value {
    /// jinja2's default `Undefined`: renders empty, is falsy, iterates as empty; reading an attribute,
    /// calling it or doing arithmetic with it raises with `hint` ("'x' is undefined").
    case undefined(hint: String)
    case none
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    /// markupsafe's `Markup` (what `|safe` and `|escape` return): a string that escapes what is
    /// added to it with `+`. Everything else treats it as the string it is.
    case markup(String)
    case list([Value])
    /// A Python tuple (tuple literals, `dict.items()` pairs): a list everywhere but in `repr`.
    case tuple([Value])
    case dict(Dict)
    /// What jinja2's `map`/`select`/`reject`/`selectattr`/`rejectattr` return: a Python generator.
    /// Always truthy, has no length, cannot be serialised by `tojson`; `list`, `join`, `for` read it.
    case generator([Value])
    case namespace(Namespace)
    case callable(Callable)

    init(_ chat: ChatValue) {
        switch chat {
        case .null: self = .none
        case .bool(let b): self = .bool(b)
        case .int(let i): self = .int(i)
        case .double(let d): self = .double(d)
        case .string(let s): self = .string(s)
        case .array(let items): self = .list(items.map(Value.init))
        case .object(let object):
            var dict = Dict()
            for (key, value) in object { dict[key] = Value(value) }
            self = .dict(dict)
        }
    }

    static func undefinedName(_ name: String) -> Value { .undefined(hint: "'\(name)' is undefined") }

    var isUndefined: Bool {
        if case .undefined = self { return true }
        return false
    }

    /// Python's type name, as error messages print it.
    var typeName: String {
        switch self {
        case .undefined: return "Undefined"
        case .none: return "NoneType"
        case .bool: return "bool"
        case .int: return "int"
        case .double: return "float"
        case .string: return "str"
        case .markup: return "Markup"
        case .list: return "list"
        case .tuple: return "tuple"
        case .dict: return "dict"
        case .generator: return "generator"
        case .namespace: return "Namespace"
        case .callable: return "function"
        }
    }

    /// Python truthiness.
    var truthy: Bool {
        switch self {
        case .undefined, .none: return false
        case .bool(let b): return b
        case .int(let i): return i != 0
        case .double(let d): return d != 0
        case .string(let s), .markup(let s): return !s.isEmpty
        case .list(let items), .tuple(let items): return !items.isEmpty
        case .dict(let d): return !d.isEmpty
        case .generator, .namespace, .callable: return true
        }
    }
}

/// How Python hashes a dict key: `1`, `1.0` and `True` are the same key.
enum DictKey: Hashable {
    case string(String), int(Int), double(Double), none, other(String)
}

/// A Python dict in insertion order. Keys are usually strings; literals like `{0: 0, 512: 128}`
/// keep their int keys.
struct Dict {
    private(set) var keyValues: [Value] = []
    private var storage: [DictKey: Value] = [:]

    var count: Int { keyValues.count }
    var isEmpty: Bool { keyValues.isEmpty }

    subscript(key: String) -> Value? {
        get { storage[.string(key)] }
        set { self[value: .string(key)] = newValue }
    }

    subscript(value key: Value) -> Value? {
        get { storage[key.hashKey] }
        set {
            let hashKey = key.hashKey
            if let newValue {
                if storage.updateValue(newValue, forKey: hashKey) == nil { keyValues.append(key) }
            } else if storage.removeValue(forKey: hashKey) != nil {
                keyValues.removeAll { $0.hashKey == hashKey }
            }
        }
    }

    var items: [(Value, Value)] { keyValues.map { ($0, storage[$0.hashKey] ?? Value.none) } }
    var values: [Value] { keyValues.map { storage[$0.hashKey] ?? Value.none } }
}

extension Value {
    /// Markup as the plain string it is; anything else unchanged.
    var plain: Value {
        if case .markup(let s) = self { return .string(s) }
        if case .tuple(let items) = self { return .list(items) }
        return self
    }

    var hashKey: DictKey {
        switch self.plain {
        case .string(let s): return .string(s)
        case .int(let i): return .int(i)
        case .bool(let b): return .int(b ? 1 : 0)
        case .double(let d): return d == d.rounded() && Swift.abs(d) < 9e18 ? .int(Int(d)) : .double(d)  // allowed: d is whole and below 9e18 < 2^63
        case .none: return .none
        default: return .other(pyRepr)
        }
    }
}

/// jinja2's `namespace(...)`: the one mutable object a template can assign attributes on.
final class Namespace {
    var attributes = Dict()
    init(_ attributes: Dict) { self.attributes = attributes }
}

/// Positional and keyword arguments of a call, as Python passes them.
struct Arguments {
    var positional: [Value] = []
    var keyword: [(String, Value)] = []

    /// Binds to parameter names (with defaults, nil = required) the way Python does; throws on
    /// unknown keywords or missing required arguments. `function` names the callee in messages.
    func bind(_ function: String, _ parameters: [(String, Value?)]) throws -> [Value] {
        guard positional.count <= parameters.count else {
            throw RawTemplateError(
                .type, "\(function)() takes at most \(parameters.count) arguments (\(positional.count) given)")
        }
        var bound: [Value?] = parameters.map { $0.1 }
        for (i, value) in positional.enumerated() { bound[i] = value }
        for (name, value) in keyword {
            guard let index = parameters.firstIndex(where: { $0.0 == name }) else {
                throw RawTemplateError(.type, "\(function)() got an unexpected keyword argument '\(name)'")
            }
            bound[index] = value
        }
        return try bound.enumerated().map { i, value in
            guard let value else {
                throw RawTemplateError(.type, "\(function)() missing required argument '\(parameters[i].0)'")
            }
            return value
        }
    }
}

/// A function value: a built-in global, a bound method, a macro or `caller`.
final class Callable {
    let name: String
    let body: (Arguments, Renderer) throws -> Value
    init(_ name: String, _ body: @escaping (Arguments, Renderer) throws -> Value) {
        self.name = name
        self.body = body
    }
}
