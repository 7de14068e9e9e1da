/// How a transposed convolution (kernel k, stride s, padding p) splits into s² phase convolutions
/// of odd size 2r+1 at the input resolution: output pixel `y[s·i + a]` receives
/// `x[i + t] · w[a + p − s·t]`, so phase `a` is a convolution over offsets `t ∈ [−r, r]` whose
/// weights are picked from `w`; every `w` tap lands in exactly one phase. Exists only when the
/// offsets are symmetric and `out = s · in` (e.g. kernel 5, stride 2, padding 2, output padding 1).
struct SubPixelGeometry: Sendable {
    let kernel: Int
    let stride: Int
    let padding: Int
    let radius: Int

    init?(kernel: Int, stride: Int, padding: Int, outputPadding: Int) {
        guard stride > 1, outputPadding == stride + 2 * padding - kernel else { return nil }  // out = s·in
        // Offsets t with 0 ≤ a + p − s·t < k for some phase a.
        let tMax = (stride - 1 + padding) / stride
        let tMin = -((kernel - 1 - padding) / stride)
        guard tMax == -tMin else { return nil }
        self.kernel = kernel
        self.stride = stride
        self.padding = padding
        radius = tMax
    }

    /// Side of the phase convolutions' kernel.
    var taps: Int { 2 * radius + 1 }

    /// Visits every (phase weight index, original weight index) pair. Phase weights are
    /// (s²·O, I, taps, taps), phase channel `(ah·s + aw)·O + o`; the original (O, I, k, k).
    func forEachTap(inChannels i: Int, outChannels o: Int, _ body: (Int, Int) -> Void) {
        let s = stride
        for ah in 0..<s { for aw in 0..<s { for th in -radius...radius { for tw in -radius...radius {
            let kh = ah + padding - s * th, kw = aw + padding - s * tw
            guard kh >= 0, kh < kernel, kw >= 0, kw < kernel else { continue }
            for oc in 0..<o { for ic in 0..<i {
                let phase = (ah * s + aw) * o + oc
                body(((phase * i + ic) * taps + th + radius) * taps + tw + radius,
                     ((oc * i + ic) * kernel + kh) * kernel + kw)
            }}
        }}}}
    }
}
