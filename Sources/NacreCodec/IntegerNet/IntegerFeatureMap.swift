/// An integer tensor of one image: `channels × height × width`, channel-major (CHW), as the codec's
/// latents are laid out.
public struct IntegerFeatureMap: Sendable, Equatable {
    public let channels: Int
    public let height: Int
    public let width: Int
    /// `values[(c · height + y) · width + x]`.
    public var values: [Int32]

    /// - Throws: `.invalidArgument` if `values.count ≠ channels · height · width` or a size is negative.
    public init(channels: Int, height: Int, width: Int, values: [Int32]) throws {
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

    /// For callers that built `values` with exactly `channels · height · width` elements.
    init(uncheckedChannels channels: Int, height: Int, width: Int, values: [Int32]) {
        self.channels = channels
        self.height = height
        self.width = width
        self.values = values
    }
}
