/// The integer latents of a decoded image (for determinism checks and debugging).
public struct DecodedLatents: Sendable, Equatable {
    /// ẑ, channel-major.
    public var z: [Int32]
    /// ŷ (gained, before the decoder gain), channel-major.
    public var y: [Int32]
    /// The Gaussian table index of every element of y.
    public var scaleIndices: [UInt8]
}
