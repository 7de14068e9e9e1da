import ArgumentParser
import Foundation
import NacreCodec
import NacreEngine
import NacreImage
import NacreStore

/// `nacre bench report`: a static HTML page to judge the codec by eye. Per image: the original,
/// Nacre, and JPEG, WebP and AVIF at the same byte size (the largest file that does not exceed
/// Nacre's), each whole and as a zoomed crop of the image's most detailed region, with bpp and PSNR.
struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Write an HTML page comparing Nacre with JPEG, WebP and AVIF at equal size.",
        discussion: """
            The page's images go to a folder beside it (OUT_files/). JPEG, WebP and AVIF come from \
            Debian's libjpeg-turbo-progs, webp and libavif-bin (a codec whose tools are missing is left \
            out, with a note on the page). Byte sizes: Nacre's is its encoded image record (latents); \
            the others' their whole files. Open the page in a browser; `chromium --headless \
            --screenshot=shot.png --window-size=1400,1800 OUT` renders it without a display.
            """)

    @Option(help: "Folder of PNG images (e.g. ../shared/data/kodak).") var data: String
    @Option(name: .shortAndLong, help: "The HTML file to write.") var output: String
    @Option(help: "Full coded model; default: the built-in base model.") var model: String?
    @Option(help: "Nacre quality 1…100.") var quality = 50.0
    @Option(help: "Use only the first N images.") var limit = 6
    @Option(help: "Side of the zoomed crop, in pixels.") var crop = 128
    @Option(help: "Compute threads.") var threads: Int?

    /// One coded version of an image on the page.
    struct Entry {
        var method: String
        var detail: String
        var bytes: Int
        var decoded: PixelBuffer
        var psnr: Double
    }

    func run() throws {
        guard crop >= 16 else { throw ValidationError("--crop must be at least 16") }
        let engine = try Engine(threads: threads)
        let modelPath = try CodecFiles.modelPath(model)
        let codec = try CodecModel.load(contentsOfFile: modelPath, engine: engine)
        let paths = try CodecFiles.pngPaths(in: data, limit: limit)
        let references = ReferenceCodec.all.filter(\.isAvailable)
        let missing = ReferenceCodec.all.filter { !$0.isAvailable }.map(\.name)
        let stem = (output as NSString).deletingPathExtension
        let assets = stem + "_files"
        let assetsName = (assets as NSString).lastPathComponent
        try FileManager.default.createDirectory(atPath: assets, withIntermediateDirectories: true)
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("nacre-report-\(getpid())").path
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: scratch) }

        var sections: [String] = []
        var totals: [String: (bpp: Double, psnr: Double, count: Int)] = [:]
        for (number, path) in paths.enumerated() {
            let name = (path as NSString).lastPathComponent
            FileHandle.standardError.write(Data("report: \(number + 1)/\(paths.count) \(name)\n".utf8))
            let original = try CodecFiles.readPNG(path)
            let opaque = try PixelBuffer(width: original.width, height: original.height, rgb: original.rgb)
            let encoded = try codec.encode(opaque, quality: quality)
            let nacreBytes = encoded.serialized().count
            let nacre = try codec.decode(encoded)
            var entries = [Entry(method: "Nacre", detail: String(format: "quality %.0f", quality), bytes: nacreBytes,
                                 decoded: nacre, psnr: try PSNR(reference: opaque, distorted: nacre).decibels)]
            for reference in references {
                let coded = try reference.matching(budget: nacreBytes, image: opaque, pngPath: path, scratch: scratch)
                entries.append(Entry(method: reference.name, detail: "\(reference.settingLabel) \(coded.setting)",
                                     bytes: coded.bytes.count, decoded: coded.decoded,
                                     psnr: try PSNR(reference: opaque, distorted: coded.decoded).decibels))
            }
            let region = Self.mostDetailedRegion(opaque, side: min(crop, opaque.width, opaque.height))
            let base = (name as NSString).deletingPathExtension
            var cells: [String] = []
            let columns = [Entry(method: "Original", detail: "\(original.width)×\(original.height)",
                                 bytes: (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0,
                                 decoded: opaque, psnr: .infinity)] + entries
            for entry in columns {
                let slug = base + "-" + entry.method.lowercased()
                try CodecFiles.writeAtomically(try PNGWriter.encode(entry.decoded, layout: PNGLayout(channels: .rgb)),
                                               to: assets + "/" + slug + ".png")
                let zoomed = try entry.decoded.window(x: region.x, y: region.y, width: region.side, height: region.side)
                try CodecFiles.writeAtomically(try PNGWriter.encode(zoomed, layout: PNGLayout(channels: .rgb)),
                                               to: assets + "/" + slug + "-crop.png")
                let bpp = Double(entry.bytes * 8) / Double(opaque.pixelCount)
                let caption = entry.method == "Original"
                    ? String(format: "%@ · PNG %.2f bpp", entry.detail, bpp)
                    : String(format: "%@ · %d B · %.3f bpp · %.2f dB", entry.detail, entry.bytes, bpp, entry.psnr)
                if entry.method != "Original" {
                    let sum = totals[entry.method] ?? (0, 0, 0)
                    totals[entry.method] = (sum.bpp + bpp, sum.psnr + entry.psnr, sum.count + 1)
                }
                cells.append("""
                    <figure><figcaption><b>\(entry.method)</b><br>\(Self.escape(caption))</figcaption>\
                    <img class="crop" src="\(assetsName)/\(slug)-crop.png" alt="\(entry.method) crop">\
                    <a href="\(assetsName)/\(slug).png"><img class="whole" src="\(assetsName)/\(slug).png" alt="\(entry.method)"></a></figure>
                    """)
            }
            sections.append("""
                <section><h2>\(Self.escape(name))</h2><p>zoom: \(region.side)×\(region.side) px at (\(region.x), \(region.y)), shown 3×</p>\
                <div class="row">\(cells.joined())</div></section>
                """)
        }
        let order = ["Nacre"] + references.map(\.name)
        let summaryRows = order.compactMap { method -> String? in
            guard let t = totals[method] else { return nil }
            return String(format: "<tr><td>%@</td><td>%.3f</td><td>%.2f</td></tr>", method, t.bpp / Double(t.count), t.psnr / Double(t.count))
        }.joined()
        let html = """
            <!doctype html><html><head><meta charset="utf-8"><title>Nacre visual report</title><style>
            body{font-family:sans-serif;margin:16px;background:#f4f4f4}
            .row{display:flex;gap:10px;flex-wrap:wrap}
            figure{margin:0;background:#fff;padding:6px;border:1px solid #ccc;width:390px}
            figcaption{font-size:13px;margin-bottom:4px;min-height:34px}
            img.crop{width:384px;height:384px;image-rendering:pixelated;display:block}
            img.whole{width:384px;display:block;margin-top:4px}
            table{border-collapse:collapse;background:#fff}td,th{border:1px solid #ccc;padding:4px 10px;text-align:right}
            </style></head><body>
            <h1>Nacre vs JPEG, WebP, AVIF at equal size</h1>
            <p>Model \(codec.identifierString) (step \(codec.info["source.step"] ?? "?")), quality \(String(format: "%.0f", quality)), \
            \(paths.count) images from \(Self.escape(data)). Each reference codec gets the largest file that is not larger than \
            Nacre's encoded image. \(missing.isEmpty ? "" : "Left out (tools not installed): \(missing.joined(separator: ", ")).") \
            Written by <code>nacre bench report</code>.</p>
            <table><tr><th>method</th><th>mean bpp</th><th>mean PSNR dB</th></tr>\(summaryRows)</table>
            \(sections.joined(separator: "\n"))
            </body></html>
            """
        try CodecFiles.writeAtomically(Array(html.utf8), to: output)
        print("wrote \(output) (\(paths.count) images, assets in \(assets))")
    }

    /// The `side × side` window (on a 16-px grid) with the largest luma variance.
    static func mostDetailedRegion(_ image: PixelBuffer, side: Int) -> (x: Int, y: Int, side: Int) {
        var best = (x: 0, y: 0, variance: -1.0)
        for y in stride(from: 0, through: image.height - side, by: 16) {
            for x in stride(from: 0, through: image.width - side, by: 16) {
                var sum = 0.0, squares = 0.0
                for row in stride(from: y, to: y + side, by: 2) {
                    for column in stride(from: x, to: x + side, by: 2) {
                        let i = (row * image.width + column) * 3
                        let luma = 0.299 * Double(image.rgb[i]) + 0.587 * Double(image.rgb[i + 1]) + 0.114 * Double(image.rgb[i + 2])
                        sum += luma
                        squares += luma * luma
                    }
                }
                let n = Double((side / 2) * (side / 2))
                let variance = squares / n - (sum / n) * (sum / n)
                if variance > best.variance { best = (x, y, variance) }
            }
        }
        return (best.x, best.y, side)
    }

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}
