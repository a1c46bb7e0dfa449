extension KernelSource {
    public static let attention = KernelSource(name: "attention", entries: [], code: "")
    public static let attentionBackward = KernelSource(name: "attention_backward", entries: [], code: "")
    public static let decode = KernelSource(name: "decode", entries: [], code: "")
}
