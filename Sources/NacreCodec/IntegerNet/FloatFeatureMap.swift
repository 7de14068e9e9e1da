/// A float tensor of one image, `channels × height × width`, channel-major (CHW). Used only by the
/// float reference path (calibration and tests), never to compute a probability.
public struct FloatFeatureMap: Sendable, Equatable {
    public let channels: Int
    public let height: Int
    public let width: Int
    /// `values[(c · height + y) · width + x]`.
    public var values: [Float]

    /// - Throws: `.invalidArgument` if `values.count ≠ channels · height · width`.
    public init(channels: Int, height: Int, width: Int, values: [Float]) throws {
        let (plane, overflowA) = height.multipliedReportingOverflow(by: width)
        let (total, overflowB) = channels.multipliedReportingOverflow(by: plane)
        guard channels >= 0, height >= 0, width >= 0, !overflowA, !overflowB, total == values.count else {
            throw EntropyCodingError(.invalidArgument,
                "a \(channels)×\(height)×\(width) feature map needs that many values, got \(values.count)")
        }
        self.channels = channels
        self.height = height
        self.width = width
        self.values = values
    }

    /// The integer map's values as floats (for running the float reference on quantized latents).
    public init(_ map: IntegerFeatureMap) {
        channels = map.channels
        height = map.height
        width = map.width
        values = map.values.map(Float.init)
    }
}
