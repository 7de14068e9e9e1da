/// The inner loops of `IntegerConvLayer` over a range of output rows, on raw buffers so that
/// threads can share one call. Each thread writes only its own rows.
struct IntegerConvRowKernel: @unchecked Sendable {
    let layer: IntegerConvLayer
    let input: UnsafePointer<Int16>
    let weights: UnsafePointer<Int16>
    let biases: UnsafePointer<Int32>
    let output: UnsafeMutablePointer<Int16>
    let inputWidth: Int
    let outputWidth: Int
    let rowTaps: [[(tap: Int, input: Int)]]
    let columnTaps: [[(tap: Int, input: Int)]]

    func run(rows: Range<Int>) {
        let cin = layer.inputChannels, cout = layer.outputChannels
        let stride = layer.paddedOutputChannels, kernelWidth = layer.geometry.kernelWidth
        let blocks = stride / IntegerConvLayer.outputBlock
        let low = Int64(layer.outputRange.lowerBound), high = Int64(layer.outputRange.upperBound)
        let rescales = layer.rescales
        var pairs: [(pixel: Int, tap: Int)] = []
        pairs.reserveCapacity(layer.geometry.kernelHeight * kernelWidth)
        for oy in rows {
            for ox in 0..<outputWidth {
                pairs.removeAll(keepingCapacity: true)
                for (ky, iy) in rowTaps[oy] {
                    for (kx, ix) in columnTaps[ox] {
                        pairs.append(((iy * inputWidth + ix) * cin, (ky * kernelWidth + kx) * cin))
                    }
                }
                let base = (oy * outputWidth + ox) * cout
                for b in 0..<blocks {
                    let o0 = b * IntegerConvLayer.outputBlock
                    var lowSums = UnsafeRawPointer(biases + o0).loadUnaligned(as: SIMD8<Int32>.self)
                    var highSums = UnsafeRawPointer(biases + o0 + 8).loadUnaligned(as: SIMD8<Int32>.self)
                    for (pixel, tap) in pairs {
                        let pixelInput = input + pixel
                        var row = weights + tap * stride + o0
                        for i in 0..<cin {
                            let a = pixelInput[i]
                            if a != 0 {  // clipped ReLUs leave many zeros
                                let w = UnsafeRawPointer(row).loadUnaligned(as: SIMD16<Int16>.self)
                                // |w·a| ≤ 127·255 fits Int16; the sums are bounded at init.
                                let product = w &* SIMD16<Int16>(repeating: a)
                                lowSums &+= SIMD8<Int32>(truncatingIfNeeded: product.lowHalf)
                                highSums &+= SIMD8<Int32>(truncatingIfNeeded: product.highHalf)
                            }
                            row += stride
                        }
                    }
                    let count = min(IntegerConvLayer.outputBlock, cout - o0)
                    for k in 0..<count {
                        let sum = k < 8 ? lowSums[k] : highSums[k - 8]
                        let v = rescales[o0 + k].rescale(sum)
                        output[base + o0 + k] = Int16(truncatingIfNeeded: min(max(v, low), high))
                    }
                }
            }
        }
    }
}
