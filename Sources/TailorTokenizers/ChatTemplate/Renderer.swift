import Foundation

/// Variables visible at one point of a render. A `for` iteration, a macro call and a `with` block
/// each get a child scope, so their `set`s do not leak out (jinja2's scoping); `if` does not.
final class Scope {
    var variables: [String: Value] = [:]
    let parent: Scope?
    init(parent: Scope?) { self.parent = parent }

    func lookup(_ name: String) -> Value? {
        var scope: Scope? = self
        while let s = scope {
            if let v = s.variables[name] { return v }
            scope = s.parent
        }
        return nil
    }
}

/// Text produced so far into one buffer; `scalars` counts Unicode scalars (Python string length).
struct OutputBuffer {
    var text = ""
    var scalars = 0
    mutating func append(_ s: String) {
        text += s
        scalars += s.unicodeScalars.count
    }
}

enum Flow { case normal, breakLoop, continueLoop }

/// Walks the AST for one render. Not shared between renders.
final class Renderer {
    var buffers: [OutputBuffer] = [OutputBuffer()]
    var generationRanges: [Range<Int>] = []
    var scope: Scope
    let now: Date
    private var callDepth = 0

    init(variables: [String: Value], now: Date) {
        let root = Scope(parent: nil)
        for (name, value) in Globals.make() { root.variables[name] = value }
        let context = Scope(parent: root)
        context.variables = variables
        self.scope = context
        self.now = now
    }

    /// Loop iterations and macro calls so far (`RenderLimits.maxSteps`).
    private var steps = 0

    func emit(_ s: String) throws {
        try RenderLimits.checkLength(buffers[buffers.count - 1].text.utf8.count + s.utf8.count, "the output")
        buffers[buffers.count - 1].append(s)
    }

    /// Counts one loop iteration or macro call; throws past `RenderLimits.maxSteps`.
    func step() throws {
        steps += 1
        guard steps <= RenderLimits.maxSteps else {
            throw RawTemplateError(.limit, "the template ran more than \(RenderLimits.maxSteps) loop iterations and macro calls (is a loop runaway or nested too deep?)")
        }
    }

    /// Renders `nodes` into a fresh buffer and returns its text (macros, caller, set/filter blocks).
    func capture(_ nodes: [Node]) throws -> String {
        buffers.append(OutputBuffer())
        defer { buffers.removeLast() }
        _ = try execute(nodes)
        return buffers[buffers.count - 1].text
    }

    func withScope<T>(_ child: Scope, _ body: () throws -> T) rethrows -> T {
        let saved = scope
        scope = child
        defer { scope = saved }
        return try body()
    }

    // MARK: statements

    func execute(_ nodes: [Node]) throws -> Flow {
        for node in nodes {
            let flow = try execute(node)
            if flow != .normal { return flow }
        }
        return .normal
    }

    private func at<T>(_ offset: Int, _ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch var error as RawTemplateError where error.offset == nil {
            error.offset = offset
            throw error
        }
    }

    private func execute(_ node: Node) throws -> Flow {
        switch node {
        case .text(let s):
            try emit(s)
        case .output(let expr, let offset):
            try at(offset) { try emit(try evaluate(expr).pyStr) }
        case .if(let branches, let otherwise):
            for (condition, body) in branches where try evaluate(condition).truthy {
                return try execute(body)
            }
            if let otherwise { return try execute(otherwise) }
        case .for(let target, let iterable, let condition, let body, let otherwise, let offset):
            return try at(offset) {
                try executeFor(target: target, iterable: iterable, condition: condition, body: body, otherwise: otherwise)
            }
        case .set(let target, let expr, let offset):
            try at(offset) { try assign(target, try evaluate(expr)) }
        case .setBlock(let target, let filters, let body, let offset):
            try at(offset) {
                var value = Value.string(try withScope(Scope(parent: scope)) { try capture(body) })
                for filter in filters { value = try applyFilter(filter, to: value) }
                try assign(target, value)
            }
        case .macro(let definition):
            scope.variables[definition.name] = .callable(makeMacro(definition, definingScope: scope))
        case .callBlock(let call, let callerParameters, let body, let offset):
            try at(offset) {
                guard case .call(let callee, let args, let kwargs, _) = call else { return }
                let caller = makeMacro(
                    MacroDefinition(name: "caller", parameters: callerParameters, body: body, offset: offset),
                    definingScope: scope)
                var arguments = try evaluateArguments(args, kwargs)
                arguments.keyword.append(("caller", .callable(caller)))
                try emit(try callValue(try evaluate(callee), arguments).pyStr)
            }
        case .filterBlock(let filters, let body, let offset):
            try at(offset) {
                var value = Value.string(try withScope(Scope(parent: scope)) { try capture(body) })
                for filter in filters { value = try applyFilter(filter, to: value) }
                try emit(value.pyStr)
            }
        case .generation(let body, _):
            // transformers records (start, end) in characters of the output yielded so far (the
            // top-level output, even when the block sits inside a macro), then outputs the body.
            let text = try withScope(Scope(parent: scope)) { try capture(body) }
            let start = buffers[0].scalars
            generationRanges.append(start..<(start + text.unicodeScalars.count))
            try emit(text)
        case .with(let assignments, let body):
            let child = Scope(parent: scope)
            for (target, expr) in assignments {
                let value = try evaluate(expr)
                try withScope(child) { try assign(target, value) }
            }
            return try withScope(child) { try execute(body) }
        case .break:
            return .breakLoop
        case .continue:
            return .continueLoop
        }
        return .normal
    }

    func assign(_ target: Target, _ value: Value) throws {
        switch target {
        case .name(let name):
            scope.variables[name] = value
        case .tuple(let targets):
            let items = try iterate(value)
            guard items.count == targets.count else {
                throw RawTemplateError(
                    .runtime,
                    items.count > targets.count
                        ? "ValueError: too many values to unpack (expected \(targets.count))"
                        : "ValueError: not enough values to unpack (expected \(targets.count), got \(items.count))")
            }
            for (t, v) in zip(targets, items) { try assign(t, v) }
        case .attribute(let name, let attribute, let offset):
            guard case .namespace(let ns) = scope.lookup(name) ?? .undefinedName(name) else {
                throw RawTemplateError(.runtime, "cannot assign attribute on non-namespace object", offset: offset)
            }
            if attribute.hasPrefix("_") {
                throw RawTemplateError(
                    .security,
                    "Chat templates cannot store underscore-prefixed attributes on a namespace, but got '\(attribute)'.",
                    offset: offset)
            }
            ns.attributes[attribute] = value
        }
    }

    private func executeFor(target: Target, iterable: Expr, condition: Expr?, body: [Node], otherwise: [Node]) throws -> Flow {
        var items = try iterate(try evaluate(iterable))
        if let condition {
            items = try items.filter { item in
                let child = Scope(parent: scope)
                return try withScope(child) {
                    try assign(target, item)
                    return try evaluate(condition).truthy
                }
            }
        }
        if items.isEmpty {
            return try withScope(Scope(parent: scope)) { try execute(otherwise) }
        }
        let length = items.count
        for (i, item) in items.enumerated() {
            try step()
            let child = Scope(parent: scope)
            var loop = Dict()
            loop["index"] = .int(i + 1)
            loop["index0"] = .int(i)
            loop["revindex"] = .int(length - i)
            loop["revindex0"] = .int(length - i - 1)
            loop["first"] = .bool(i == 0)
            loop["last"] = .bool(i == length - 1)
            loop["length"] = .int(length)
            loop["depth"] = .int(1)
            loop["depth0"] = .int(0)
            loop["previtem"] = i > 0 ? items[i - 1] : .undefined(hint: "there is no previous item")
            loop["nextitem"] = i + 1 < length ? items[i + 1] : .undefined(hint: "there is no next item")
            loop["cycle"] = .callable(Callable("cycle") { args, _ in
                guard !args.positional.isEmpty else { throw RawTemplateError(.type, "no items for cycling given") }
                return args.positional[i % args.positional.count]
            })
            child.variables["loop"] = .dict(loop)
            let flow: Flow = try withScope(child) {
                try assign(target, item)
                return try execute(body)
            }
            if flow == .breakLoop { break }
        }
        return .normal
    }

    private func makeMacro(_ definition: MacroDefinition, definingScope: Scope) -> Callable {
        Callable(definition.name) { [unowned self] args, _ in
            try self.step()
            self.callDepth += 1
            defer { self.callDepth -= 1 }
            guard self.callDepth < 200 else {
                throw RawTemplateError(.runtime, "macro '\(definition.name)' recursed too deeply", offset: definition.offset)
            }
            let child = Scope(parent: definingScope)
            var positional = args.positional
            var extraKeywords = Dict()
            var caller: Value?
            for (name, value) in args.keyword {
                if name == "caller" {
                    caller = value
                } else if !definition.parameters.contains(where: { $0.0 == name }) {
                    extraKeywords[name] = value
                }
            }
            guard extraKeywords.isEmpty else {
                throw RawTemplateError(
                    .type, "macro '\(definition.name)' takes no keyword argument '\(extraKeywords.keyValues[0].pyStr)'")
            }
            return try self.withScope(child) {
                for (name, defaultValue) in definition.parameters {
                    if !positional.isEmpty {
                        child.variables[name] = positional.removeFirst()
                    } else if let value = args.keyword.first(where: { $0.0 == name })?.1 {
                        child.variables[name] = value
                    } else if let defaultValue {
                        child.variables[name] = try self.evaluate(defaultValue)
                    } else {
                        child.variables[name] = .undefined(hint: "parameter '\(name)' was not provided")
                    }
                }
                child.variables["varargs"] = .list(positional)
                child.variables["kwargs"] = .dict(Dict())
                if let caller { child.variables["caller"] = caller }
                return .string(try self.capture(definition.body))
            }
        }
    }
}
