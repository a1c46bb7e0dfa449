/// peft's rule for a module named in a list (`target_modules`, `modules_to_save`): the module's whole name,
/// or its last dotted parts ("lm_head", "embed_tokens", "mlp.down_proj").
public enum ModuleNames {
    public static func module(_ module: String, isNamed name: String) -> Bool {
        module == name || module.hasSuffix("." + name)
    }

    /// Whether any of `modules` is named in `names`.
    public static func any(_ modules: [String], isNamedIn names: [String]) -> Bool {
        modules.contains { module in names.contains { self.module(module, isNamed: $0) } }
    }
}
