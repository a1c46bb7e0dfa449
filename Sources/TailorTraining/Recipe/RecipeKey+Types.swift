/// Entries of `RecipeKeys.table` by value type: each reads its value into a recipe property (a
/// key path) and writes it back as YAML, so a table entry is one line.
extension RecipeKey {
    typealias Path<Value> = WritableKeyPath<TrainRecipe, Value> & Sendable

    static func bool(_ name: String, aliases: [String] = [], _ path: Path<Bool>, _ help: String,
                     written: @escaping @Sendable (TrainRecipe) -> Bool = { _ in true }) -> RecipeKey {
        RecipeKey(name, aliases: aliases, type: .bool, help: help,
                  read: { value, key, recipe in recipe[keyPath: path] = try value.bool(key) },
                  yaml: { "\($0[keyPath: path])" }, written: written)
    }

    static func integer<Integer: FixedWidthInteger & Sendable>(_ name: String, aliases: [String] = [], _ path: Path<Integer>,
                                                                min: Int, _ help: String) -> RecipeKey {
        RecipeKey(name, aliases: aliases, type: .integer(min: min), help: help,
                  read: { value, key, recipe in recipe[keyPath: path] = Integer(try value.integer(key, min: min)) },
                  yaml: { "\($0[keyPath: path])" })
    }

    /// An integer that may be unset; `nullable`: `null` unsets it.
    static func integer(_ name: String, aliases: [String] = [], _ path: Path<Int?>, min: Int, nullable: Bool = false,
                        unset: String, _ help: String) -> RecipeKey {
        RecipeKey(name, aliases: aliases, type: .integer(min: min), help: help, unset: unset,
                  read: { value, key, recipe in
                      recipe[keyPath: path] = nullable && value == .null ? nil : try value.integer(key, min: min)
                  },
                  yaml: { recipe in recipe[keyPath: path].map { "\($0)" } })
    }

    static func number(_ name: String, aliases: [String] = [], _ path: Path<Double>, _ help: String) -> RecipeKey {
        RecipeKey(name, aliases: aliases, type: .number, help: help,
                  read: { value, key, recipe in recipe[keyPath: path] = try value.number(key) },
                  yaml: { "\($0[keyPath: path])" })
    }

    /// A number that may be unset; `nullable`: `null` unsets it.
    static func number(_ name: String, aliases: [String] = [], _ path: Path<Double?>, nullable: Bool = false, unset: String,
                       _ help: String) -> RecipeKey {
        RecipeKey(name, aliases: aliases, type: .number, help: help, unset: unset,
                  read: { value, key, recipe in recipe[keyPath: path] = nullable && value == .null ? nil : try value.number(key) },
                  yaml: { recipe in recipe[keyPath: path].map { "\($0)" } })
    }

    static func fraction(_ name: String, aliases: [String] = [], _ path: Path<Double>, _ help: String) -> RecipeKey {
        RecipeKey(name, aliases: aliases, type: .fraction, help: help,
                  read: { value, key, recipe in recipe[keyPath: path] = try value.fraction(key) },
                  yaml: { "\($0[keyPath: path])" })
    }

    /// A string (a path or a name), written quoted; `required`: what to give when it is empty.
    static func text(_ name: String, aliases: [String] = [], _ path: Path<String>, required: String? = nil,
                     _ help: String) -> RecipeKey {
        RecipeKey(name, aliases: aliases, type: .text, help: help, required: required,
                  read: { value, key, recipe in recipe[keyPath: path] = try value.text(key) },
                  yaml: { RecipeYAML.quote($0[keyPath: path]) },
                  isMissing: { $0[keyPath: path].isEmpty })
    }

    /// A string that may be unset; `nullable`: `null` unsets it.
    static func text(_ name: String, aliases: [String] = [], _ path: Path<String?>, nullable: Bool = false,
                     unset: String? = nil, _ help: String) -> RecipeKey {
        RecipeKey(name, aliases: aliases, type: .text, help: help, unset: unset,
                  read: { value, key, recipe in recipe[keyPath: path] = nullable && value == .null ? nil : try value.text(key) },
                  yaml: { recipe in recipe[keyPath: path].map(RecipeYAML.quote) })
    }

    /// A list of strings. `quoted`: items are written quoted (paths); `nullable`: `null` empties
    /// it; `required`: what to give when it is empty. An empty list is written only when `required`.
    static func list(_ name: String, aliases: [String] = [], _ path: Path<[String]>, quoted: Bool, nullable: Bool = false,
                     required: String? = nil, _ help: String) -> RecipeKey {
        RecipeKey(name, aliases: aliases, type: .list, help: help, required: required,
                  read: { value, key, recipe in recipe[keyPath: path] = nullable && value == .null ? [] : try value.list(key) },
                  yaml: { recipe in
                      let items = recipe[keyPath: path]
                      guard required != nil || !items.isEmpty else { return nil }
                      return "[" + items.map { quoted ? RecipeYAML.quote($0) : $0 }.joined(separator: ", ") + "]"
                  },
                  isMissing: { $0[keyPath: path].isEmpty })
    }

    /// One of an enum's names. `invalid` words the error for a name it does not have (default:
    /// "must be one of a, b or c"); `falseMeans`: the case a YAML `false` reads as (YAML 1.1
    /// reads a bare `no` as false).
    static func choice<Choice: RawRepresentable & CaseIterable & Sendable>(
        _ name: String, aliases: [String] = [], _ path: Path<Choice>, falseMeans: Choice? = nil,
        invalid: (@Sendable (String) -> String)? = nil, _ help: String
    ) -> RecipeKey where Choice.RawValue == String {
        let names = Choice.allCases.map(\.rawValue)
        return RecipeKey(name, aliases: aliases, type: .choice(names), help: help,
                         read: { value, key, recipe in
                             if let falseMeans, value == .bool(false) { recipe[keyPath: path] = falseMeans; return }
                             let text = try value.text(key)
                             guard let choice = Choice(rawValue: text) else {
                                 let problem = invalid?(text) ?? "must be one of \(RecipeValue.wordList(names)) (got \(value))"
                                 throw TrainingError.invalidValue(key: key, problem: problem)
                             }
                             recipe[keyPath: path] = choice
                         },
                         yaml: { $0[keyPath: path].rawValue })
    }

    /// A key TrainingArguments or LLaMA-Factory knows that means nothing in Tailor: accepted with
    /// a warning that gives `reason`.
    static func ignored(_ name: String, _ reason: String) -> RecipeKey {
        RecipeKey(name, type: .ignored(reason: reason), help: reason, read: { _, _, _ in }, yaml: { _ in nil },
                  written: { _ in false })
    }
}

extension RecipeKeys {
    /// A run of table entries under one heading.
    static func section(_ group: RecipeKey.Group, _ keys: [RecipeKey]) -> [RecipeKey] {
        keys.map { key in
            var key = key
            key.group = group
            return key
        }
    }
}
