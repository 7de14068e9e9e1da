import NacreImage

extension PixelBuffer {
    /// A `width × height` window starting at (x, y), clipped to the image (at least 1×1), RGB only.
    public func window(x: Int, y: Int, width: Int, height: Int) throws -> PixelBuffer {
        let x0 = max(0, min(x, self.width - 1)), y0 = max(0, min(y, self.height - 1))
        let w = max(1, min(width, self.width - x0)), h = max(1, min(height, self.height - y0))
        var samples = [UInt8]()
        samples.reserveCapacity(w * h * 3)
        for row in y0..<(y0 + h) {
            let start = (row * self.width + x0) * 3
            samples.append(contentsOf: rgb[start..<(start + w * 3)])
        }
        return try PixelBuffer(width: w, height: h, rgb: samples)
    }
}
