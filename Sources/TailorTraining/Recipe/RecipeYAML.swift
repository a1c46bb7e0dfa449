/// The resolved recipe as YAML with Hugging Face key names (saved with each run as
/// tailor_config.yaml, and printed by --dry-run); `tailor train` reads it back unchanged.
/// Each key of `RecipeKeys.table` writes its own value, in the table's order; unset values,
/// second spellings (shuffle, use_cpu ...) and the LoRA keys of a full fine-tune are left out.
public enum RecipeYAML {
    public static func render(_ recipe: TrainRecipe) -> String {
        RecipeKeys.table.compactMap { key -> String? in
            guard key.group.applies(to: recipe), key.written(recipe), !recipe.omits(key.name), let value = key.yaml(recipe) else { return nil }
            return "\(key.name): \(value)\n"
        }.joined()
    }

    /// Only the keys named in `keys` (canonical names, e.g. a recipe's `givenKeys`), in the table's order.
    public static func render(_ recipe: TrainRecipe, keys: Set<String>) -> String {
        RecipeKeys.table.compactMap { key -> String? in
            guard keys.contains(key.name), key.group.applies(to: recipe), key.written(recipe), let value = key.yaml(recipe) else { return nil }
            return "\(key.name): \(value)\n"
        }.joined()
    }

    /// A double-quoted YAML string.
    static func quote(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}
