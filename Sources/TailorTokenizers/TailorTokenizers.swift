/// tokenizer.json pipelines and chat templates.
public enum TailorTokenizers {}
