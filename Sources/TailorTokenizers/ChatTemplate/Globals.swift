import Foundation

/// Global functions: jinja2's `range`, `dict`, `namespace`, and transformers' `raise_exception`
/// and `strftime_now`.
enum Globals {
    static func make() -> [String: Value] {
        var globals: [String: Value] = [:]
        globals["raise_exception"] = .callable(Callable("raise_exception") { args, _ in
            let message = try args.bind("raise_exception", [("message", nil)])[0]
            throw RawTemplateError(.raised, message.pyStr)
        })
        globals["strftime_now"] = .callable(Callable("strftime_now") { args, r in
            let format = try args.bind("strftime_now", [("format", nil)])[0]
            return .string(Strftime.format(format.pyStr, r.now))
        })
        globals["range"] = .callable(Callable("range") { args, _ in
            let numbers = try args.positional.map { v -> Int in
                guard let i = v.intIndex else {
                    throw RawTemplateError(.type, "'\(v.typeName)' object cannot be interpreted as an integer")
                }
                return i
            }
            let (start, stop, step): (Int, Int, Int)
            switch numbers.count {
            case 1: (start, stop, step) = (0, numbers[0], 1)
            case 2: (start, stop, step) = (numbers[0], numbers[1], 1)
            case 3: (start, stop, step) = (numbers[0], numbers[1], numbers[2])
            default: throw RawTemplateError(.type, "range expected 1 to 3 arguments, got \(numbers.count)")
            }
            guard step != 0 else { throw RawTemplateError(.runtime, "ValueError: range() arg 3 must not be zero") }
            // The count in overflow-checked arithmetic: range(-2**62, 2**62) is too big, not a trap.
            let (span, overflow) = step > 0 ? stop.subtractingReportingOverflow(start) : start.subtractingReportingOverflow(stop)
            let magnitude = step.magnitude
            let count: Int
            if overflow {
                count = span < 0 ? Int.max : 0  // wrapped: a true span past Int.max reads negative, a true negative one positive
            } else {
                count = span <= 0 ? 0 : Int(exactly: (span.magnitude + magnitude - 1) / magnitude) ?? Int.max
            }
            guard count <= 100_000 else {
                throw RawTemplateError(.security, "Range too big. The sandbox blocks ranges larger than MAX_RANGE (100000).")
            }
            return .list((0..<count).map { .int(start + $0 * step) })
        })
        globals["namespace"] = .callable(Callable("namespace") { args, _ in
            .namespace(Namespace(try mapping(args, function: "namespace")))
        })
        globals["dict"] = .callable(Callable("dict") { args, _ in
            .dict(try mapping(args, function: "dict"))
        })
        return globals
    }

    /// `dict(mapping_or_pairs, **kwargs)` as Python builds it.
    static func mapping(_ args: Arguments, function: String) throws -> Dict {
        var d = Dict()
        guard args.positional.count <= 1 else {
            throw RawTemplateError(.type, "\(function) expected at most 1 argument, got \(args.positional.count)")
        }
        if let first = args.positional.first {
            switch first.plain {
            case .dict(let source): d = source
            case .list(let pairs), .generator(let pairs):
                for pair in pairs {
                    guard case .list(let kv) = pair.plain, kv.count == 2 else {
                        throw RawTemplateError(.type, "\(function) update sequence element has the wrong length")
                    }
                    d[value: kv[0]] = kv[1]
                }
            default:
                throw RawTemplateError(.type, "'\(first.typeName)' object is not iterable")
            }
        }
        for (key, value) in args.keyword {
            if function == "namespace" && key.hasPrefix("_") {
                throw RawTemplateError(
                    .security,
                    "Chat templates cannot store underscore-prefixed attributes on a namespace, but got '\(key)'.")
            }
            d[key] = value
        }
        return d
    }
}

/// Python's `datetime.strftime` for the codes templates use, with English month and day names.
enum Strftime {
    static let months = ["January", "February", "March", "April", "May", "June", "July", "August", "September",
                         "October", "November", "December"]
    static let days = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]

    static func format(_ format: String, _ date: Date, timeZone: TimeZone = .current) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second, .weekday], from: date)
        let (year, month, day) = (c.year ?? 1970, c.month ?? 1, c.day ?? 1)
        let (hour, minute, second) = (c.hour ?? 0, c.minute ?? 0, c.second ?? 0)
        let weekday = (c.weekday ?? 1) - 1
        let dayOfYear = calendar.ordinality(of: .day, in: .year, for: date) ?? 1
        func pad(_ n: Int, _ width: Int = 2) -> String {
            let s = String(n)
            return String(repeating: "0", count: max(0, width - s.count)) + s
        }
        var out = ""
        var chars = Array(format)[...]
        while let ch = chars.popFirst() {
            guard ch == "%", let next = chars.first else {
                out.append(ch)
                continue
            }
            chars.removeFirst()
            var code = next
            var noPad = false
            if code == "-", let n = chars.popFirst() {
                code = n
                noPad = true
            }
            func num(_ n: Int, _ width: Int = 2) -> String { noPad ? String(n) : pad(n, width) }
            let hour12 = hour % 12 == 0 ? 12 : hour % 12
            switch code {
            case "Y": out += String(year)
            case "y": out += num(year % 100)
            case "m": out += num(month)
            case "d": out += num(day)
            case "e": out += (day < 10 ? " " : "") + String(day)
            case "H": out += num(hour)
            case "I": out += num(hour12)
            case "M": out += num(minute)
            case "S": out += num(second)
            case "p": out += hour < 12 ? "AM" : "PM"
            case "B": out += months[month - 1]
            case "b", "h": out += String(months[month - 1].prefix(3))
            case "A": out += days[weekday]
            case "a": out += String(days[weekday].prefix(3))
            case "j": out += num(dayOfYear, 3)
            case "w": out += String(weekday)
            case "u": out += String(weekday == 0 ? 7 : weekday)
            case "F": out += "\(year)-\(pad(month))-\(pad(day))"
            case "D": out += "\(pad(month))/\(pad(day))/\(pad(year % 100))"
            case "T": out += "\(pad(hour)):\(pad(minute)):\(pad(second))"
            case "%": out += "%"
            default: out += "%" + (noPad ? "-" : "") + String(code)
            }
        }
        return out
    }
}
