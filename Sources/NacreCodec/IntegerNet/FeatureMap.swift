/// A tensor of one image, `channels × height × width`, channel-major (CHW), as the codec's
/// latents are laid out.
public struct FeatureMap<Element: Sendable & Equatable>: Sendable, Equatable {
    public let channels: Int
    public let height: Int
    public let width: Int
    /// `values[(c · height + y) · width + x]`.
    public var values: [Element]

    /// - Throws: `.invalidArgument` if `values.count ≠ channels · height · width` or a size is negative.
    public init(channels: Int, height: Int, width: Int, values: [Element]) throws {
        let (plane, overflowA) = height.multipliedReportingOverflow(by: width)
        let (total, overflowB) = channels.multipliedReportingOverflow(by: plane)
        guard channels >= 0, height >= 0, width >= 0, !overflowA, !overflowB, total == values.count else {
            throw EntropyCodingError(.invalidArgument,
                "a \(channels)×\(height)×\(width) feature map needs that many values, got \(values.count)")
        }
        self.init(uncheckedChannels: channels, height: height, width: width, values: values)
    }

    /// For callers that built `values` with exactly `channels · height · width` elements.
    init(uncheckedChannels channels: Int, height: Int, width: Int, values: [Element]) {
        self.channels = channels
        self.height = height
        self.width = width
        self.values = values
    }
}

/// Integer latents and activations: everything that decides a probability.
public typealias IntegerFeatureMap = FeatureMap<Int32>

/// Floats, used only by the float reference path (calibration and tests), never to compute a
/// probability.
public typealias FloatFeatureMap = FeatureMap<Float>

extension FeatureMap where Element == Float {
    /// The integer map's values as floats (for running the float reference on quantized latents).
    public init(_ map: IntegerFeatureMap) {
        self.init(uncheckedChannels: map.channels, height: map.height, width: map.width,
                  values: map.values.map(Float.init))
    }
}
