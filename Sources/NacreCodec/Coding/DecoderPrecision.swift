/// How a coded model stores the convolution weights of g_s (the part an archive carries).
public enum DecoderPrecision: String, Sendable, CaseIterable {
    /// float32 weights: model format version 1, the reference.
    case f32
    /// Per-output-channel symmetric int8 weights (`Int8ChannelWeights`): format version 2, about
    /// a third of the f32 decoder's bytes. Biases and IGDN parameters stay float32.
    case int8
}
