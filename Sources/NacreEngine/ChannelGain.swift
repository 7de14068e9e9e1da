/// Multiplies each channel by a learned gain (the per-quality gain vectors of a variable-rate
/// model). Initialised to 1.
public final class ChannelGain: Layer {
    public let gain: Parameter
    public let engine: Engine
    private var saved: Tensor?

    public init(engine: Engine, name: String, channels: Int) {
        self.engine = engine
        gain = Parameter(name: name + ".gain", shape: [channels], initialValue: 1)
    }

    public var parameters: [Parameter] { [gain] }

    public func forward(_ x: Tensor, training: Bool) throws -> Tensor {
        let y = try engine.multiplyChannels(x, gains: gain.values())
        saved = training ? x : nil
        return y
    }

    public func backward(_ dy: Tensor) throws -> Tensor? {
        let x = try takeSaved(&saved, "ChannelGain")
        let (dx, dg) = try engine.multiplyChannelsBackward(dy, x, gains: gain.values())
        for i in 0..<gain.count { gain.gradient[i] += dg[i] }
        return dx
    }
}
