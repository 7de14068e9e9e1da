/// Strides and paddings shared by every primitive of one convolution (spatial dims H, W).
struct DNNLConvolutionGeometry: Sendable {
    var strides: [Int64]
    var paddingLeft: [Int64]
    var paddingRight: [Int64]
}
