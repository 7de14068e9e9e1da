#if arch(x86_64)
import _Builtin_intrinsics.intel
#endif

/// The inner loops of `IntegerConvLayer` over a range of output rows, on raw buffers so that
/// threads can share one call. Each thread writes only its own rows.
///
/// Every output is `bias + Σ w·a` over the same terms in exact 32-bit integer arithmetic (bounded
/// at layer construction), so the x86 multiply-add path and the portable path give identical
/// results; only speed differs.
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
    /// Use the portable loop even where the SSE2 one exists (tests compare the two).
    let portable: Bool

    func run(rows: Range<Int>) {
        let cin = layer.inputChannels, cout = layer.outputChannels
        let kernelWidth = layer.geometry.kernelWidth
        let paddedOut = layer.paddedOutputChannels, pairCount = layer.inputPairs
        let blocks = paddedOut / IntegerConvLayer.outputBlock
        let low = Int64(layer.outputRange.lowerBound), high = Int64(layer.outputRange.upperBound)
        let rescales = layer.rescales
        var pixels: [(pixel: Int, tap: Int)] = []
        pixels.reserveCapacity(layer.geometry.kernelHeight * kernelWidth)
        var sums = [Int32](repeating: 0, count: IntegerConvLayer.outputBlock)
        for oy in rows {
            for ox in 0..<outputWidth {
                pixels.removeAll(keepingCapacity: true)
                for (ky, iy) in rowTaps[oy] {
                    for (kx, ix) in columnTaps[ox] {
                        pixels.append(((iy * inputWidth + ix) * cin, ky * kernelWidth + kx))
                    }
                }
                let base = (oy * outputWidth + ox) * cout
                for b in 0..<blocks {
                    let o0 = b * IntegerConvLayer.outputBlock
                    sums.withUnsafeMutableBufferPointer { block in
                        #if arch(x86_64)
                        if !portable {
                            accumulateSSE2(into: block.baseAddress!, firstOutput: o0, pixels: pixels, cin: cin,
                                           pairCount: pairCount, paddedOut: paddedOut)
                            return
                        }
                        #endif
                        accumulatePortable(into: block.baseAddress!, firstOutput: o0, pixels: pixels, cin: cin,
                                           pairCount: pairCount, paddedOut: paddedOut)
                    }
                    for k in 0..<min(IntegerConvLayer.outputBlock, cout - o0) {
                        let v = rescales[o0 + k].rescale(sums[k])
                        output[base + o0 + k] = Int16(truncatingIfNeeded: min(max(v, low), high))
                    }
                }
            }
        }
    }

    #if arch(x86_64)
    /// `sums[k] = bias[o0 + k] + Σ over pixels, input channels of w · a` for 16 output channels.
    @inline(__always)
    private func accumulateSSE2(into sums: UnsafeMutablePointer<Int32>, firstOutput o0: Int, pixels: [(pixel: Int, tap: Int)],
                                cin: Int, pairCount: Int, paddedOut: Int) {
        let fullPairs = cin / 2
        let biasVectors = UnsafeRawPointer(biases + o0)
        var acc0 = _mm_loadu_si128(biasVectors.assumingMemoryBound(to: __m128i.self))
        var acc1 = _mm_loadu_si128((biasVectors + 16).assumingMemoryBound(to: __m128i.self))
        var acc2 = _mm_loadu_si128((biasVectors + 32).assumingMemoryBound(to: __m128i.self))
        var acc3 = _mm_loadu_si128((biasVectors + 48).assumingMemoryBound(to: __m128i.self))
        for (pixel, tap) in pixels {
            let activations = input + pixel
            var row = UnsafeRawPointer(weights + (tap * pairCount * paddedOut + o0) * 2)
            let rowStride = paddedOut * 4  // bytes per input pair
            for p in 0..<pairCount {
                // (even, odd) channels as one little-endian 32-bit lane; an odd last channel pairs with 0.
                let lane: Int32 = p < fullPairs
                    ? UnsafeRawPointer(activations + 2 * p).loadUnaligned(as: Int32.self).littleEndian
                    : Int32(UInt16(bitPattern: activations[2 * p]))
                if lane != 0 {  // clipped ReLUs leave many zeros
                    // pmaddwd: per 32-bit lane, w_even·even + w_odd·odd.
                    let pair = _mm_set1_epi32(lane)
                    acc0 = _mm_add_epi32(acc0, _mm_madd_epi16(_mm_loadu_si128(row.assumingMemoryBound(to: __m128i.self)), pair))
                    acc1 = _mm_add_epi32(acc1, _mm_madd_epi16(_mm_loadu_si128((row + 16).assumingMemoryBound(to: __m128i.self)), pair))
                    acc2 = _mm_add_epi32(acc2, _mm_madd_epi16(_mm_loadu_si128((row + 32).assumingMemoryBound(to: __m128i.self)), pair))
                    acc3 = _mm_add_epi32(acc3, _mm_madd_epi16(_mm_loadu_si128((row + 48).assumingMemoryBound(to: __m128i.self)), pair))
                }
                row += rowStride
            }
        }
        let out = UnsafeMutableRawPointer(sums)
        _mm_storeu_si128(out.assumingMemoryBound(to: __m128i.self), acc0)
        _mm_storeu_si128((out + 16).assumingMemoryBound(to: __m128i.self), acc1)
        _mm_storeu_si128((out + 32).assumingMemoryBound(to: __m128i.self), acc2)
        _mm_storeu_si128((out + 48).assumingMemoryBound(to: __m128i.self), acc3)
    }
    #endif

    /// The same sums as `accumulateSSE2`, in portable Swift.
    @inline(__always)
    private func accumulatePortable(into sums: UnsafeMutablePointer<Int32>, firstOutput o0: Int, pixels: [(pixel: Int, tap: Int)],
                                    cin: Int, pairCount: Int, paddedOut: Int) {
        let fullPairs = cin / 2
        var acc = UnsafeRawPointer(biases + o0).loadUnaligned(as: SIMD16<Int32>.self)
        for (pixel, tap) in pixels {
            let activations = input + pixel
            var row = weights + (tap * pairCount * paddedOut + o0) * 2
            for p in 0..<pairCount {
                let even = Int32(activations[2 * p])
                let odd: Int32 = p < fullPairs ? Int32(activations[2 * p + 1]) : 0
                if even | odd != 0 {
                    let w = UnsafeRawPointer(row).loadUnaligned(as: SIMD32<Int16>.self)
                    let wide = SIMD32<Int32>(truncatingIfNeeded: w)
                    acc &+= wide.evenHalf &* even &+ wide.oddHalf &* odd
                }
                row += paddedOut * 2
            }
        }
        UnsafeMutableRawPointer(sums).storeBytes(of: acc, as: SIMD16<Int32>.self)
    }
}
