import Foundation
import NacreCatalog

/// How catalog rows appear in replies (field names are the protocol's, docs/PROTOCOL.md).
enum CollectionJSON {
    /// A number rounded to `digits` decimals; `null` for NaN and infinities (JSON has neither).
    static func number(_ value: Double?, digits: Int = 4) -> JSONValue {
        guard let value, value.isFinite else { return .null }
        let scale = pow(10, Double(digits))
        return .double((value * scale).rounded() / scale)
    }

    static func date(_ date: Date?) -> JSONValue {
        guard let date else { return .null }
        return .string(ISO8601DateFormatter().string(from: date))
    }

    static func int<I: BinaryInteger>(_ value: I) -> JSONValue { .int(Int64(value)) }

    /// The PNG mode a restore writes: `gray8`, `gray+alpha8`, `rgb8`, `rgba16`, ….
    static func mode(colourType: Int, channels: Int, bitDepth: Int) -> String {
        let layout: String
        switch colourType {
        case 0: layout = "gray"
        case 4: layout = "gray+alpha"
        case 6: layout = "rgba"
        default: layout = channels == 4 ? "rgba" : "rgb"
        }
        return layout + String(bitDepth == 16 ? 16 : 8)
    }

    /// One row of `list`/`search`.
    static func summary(_ image: ImageRecord) -> JSONValue {
        [
            "id": image.id.map { .int($0) } ?? .null,
            "name": .string(image.displayName),
            "archive": .string(image.archiveID),
            "width": int(image.width), "height": int(image.height),
            "original_bytes": .int(image.originalBytes),
            "latent_bytes": .int(image.latentBytes),
            "bpp": number(image.bitsPerPixel),
            "psnr_db": number(image.psnr, digits: 3),
            "encoded_at": date(image.encodedAt),
        ]
    }

    /// Every field of an image's record, for `info`.
    static func info(_ image: ImageRecord, archive: ArchiveRecord?) -> JSONValue {
        var fields = summary(image).objectValue ?? [:]
        fields["channels"] = int(image.channels)
        fields["colour_type"] = int(image.colourType)
        fields["bit_depth"] = int(image.bitDepth)
        fields["mode"] = .string(mode(colourType: image.colourType, channels: image.channels, bitDepth: image.bitDepth))
        fields["pixels"] = .int(Int64(image.width) * Int64(image.height))
        fields["quality"] = number(image.quality, digits: 3)
        fields["ms_ssim"] = number(image.msSSIM, digits: 5)
        fields["original_sha256"] = .string(image.originalSHA256)
        fields["source_path"] = image.sourcePath.map { .string($0) } ?? .null
        fields["frame_offset"] = .int(image.frameOffset)
        fields["frame_length"] = .int(image.frameLength)
        fields["ratio"] = image.latentBytes > 0 ? number(Double(image.originalBytes) / Double(image.latentBytes), digits: 2) : .null
        fields["archive_path"] = archive.map { .string($0.path) } ?? .null
        fields["archive_state"] = archive.map { .string($0.state.rawValue) } ?? .null
        fields["model"] = archive.map { .string($0.modelID) } ?? .null
        return .object(fields)
    }

    static func stats(_ stats: CatalogStats) -> JSONValue {
        [
            "images": int(stats.imageCount),
            "archives": int(stats.archiveCount),
            "bytes_in": .int(stats.originalBytes),
            "bytes_out": .int(stats.archiveBytes),
            "latent_bytes": .int(stats.latentBytes),
            "ratio": number(stats.archiveRatio, digits: 3),
            "latent_ratio": number(stats.latentRatio, digits: 3),
            "pixels": .int(stats.pixelCount),
            "bpp": number(stats.bitsPerPixel),
            "mean_psnr_db": number(stats.meanPSNR, digits: 3),
            "mean_ms_ssim": number(stats.meanMSSSIM, digits: 5),
            "per_model": .array(stats.perModel.map { usage in
                ["model": .string(usage.modelID), "archives": int(usage.archiveCount), "images": int(usage.imageCount),
                 "bytes_in": .int(usage.originalBytes), "latent_bytes": .int(usage.latentBytes)]
            }),
        ]
    }

    /// A model row with how many archives and images use it.
    static func model(_ model: ModelRecord, usage: CatalogStats.ModelUsage?) -> JSONValue {
        [
            "id": .string(model.id),
            "role": .string(model.role.rawValue),
            "parent": model.parentID.map { .string($0) } ?? .null,
            "created_at": date(model.createdAt),
            "steps": int(model.steps),
            "training_crops": int(model.dataSize),
            "training_seconds": number(model.wallSeconds, digits: 1),
            "gate_bd_rate": number(model.gateBDRate),
            "gate_result": model.gateResult.map { .string($0) } ?? .null,
            "file": model.filePath.map { .string($0) } ?? .null,
            "archives": int(usage?.archiveCount ?? 0),
            "images": int(usage?.imageCount ?? 0),
        ]
    }
}
