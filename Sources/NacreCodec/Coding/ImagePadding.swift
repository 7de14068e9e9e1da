import NacreEngine
import NacreImage

/// Conversions between 8-bit images and the networks' float tensors: pad to a multiple of 64 by
/// edge replication (never resize) on the way in, crop and round to 8 bits on the way out.
enum ImagePadding {
    /// The side every image is padded to a multiple of (g_a and h_a together downsample by 64).
    static let multiple = 64

    /// `side` rounded up to a multiple of 64.
    static func padded(_ side: Int) -> Int { (side + multiple - 1) / multiple * multiple }

    /// A 1×3×H'×W' tensor of the image in 0…1, H' and W' the padded sides; rows and columns past
    /// the image repeat its last row and column.
    static func tensor(from image: PixelBuffer) throws -> Tensor {
        let width = padded(image.width), height = padded(image.height)
        let plane = width * height
        var values = [Float](repeating: 0, count: 3 * plane)
        image.rgb.withUnsafeBufferPointer { rgb in
            values.withUnsafeMutableBufferPointer { out in
                for y in 0..<height {
                    let sourceRow = min(y, image.height - 1) * image.width
                    for x in 0..<width {
                        let s = (sourceRow + min(x, image.width - 1)) * 3
                        let d = y * width + x
                        out[d] = Float(rgb[s]) / 255
                        out[plane + d] = Float(rgb[s + 1]) / 255
                        out[2 * plane + d] = Float(rgb[s + 2]) / 255
                    }
                }
            }
        }
        return try Tensor(shape: TensorShape(n: 1, c: 3, h: height, w: width), values: values)
    }

    /// The top-left `width × height` of a 1×3×H×W tensor in 0…1 as 8-bit pixels (round to
    /// nearest, clamp to 0…255; NaN becomes 0).
    static func pixels(from tensor: Tensor, width: Int, height: Int) throws -> PixelBuffer {
        let values = tensor.values()
        let tw = tensor.shape.w, plane = tensor.shape.h * tw
        var rgb = [UInt8](repeating: 0, count: width * height * 3)
        for y in 0..<height {
            for x in 0..<width {
                let s = y * tw + x, d = (y * width + x) * 3
                for c in 0..<3 {
                    let v = values[c * plane + s] * 255
                    rgb[d + c] = v.isNaN ? 0 : UInt8(min(max(v.rounded(), 0), 255))
                }
            }
        }
        return try PixelBuffer(width: width, height: height, rgb: rgb)
    }
}
