/// Hugging Face config.json -> architecture; decoder forward/backward; weight loading.
public enum TailorModels {}
