/// Dataset files -> conversations -> token ids + labels: formats, masking, packing, cleaning, splits.
public enum TailorData {}
