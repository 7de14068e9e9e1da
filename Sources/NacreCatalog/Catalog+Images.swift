import Foundation
import GRDB

extension Catalog {
    /// Largest page ``images(_:limit:after:)`` returns.
    public static let maximumPageSize = 10_000

    /// Lists images newest first (by `encodedAt`, then id), filtered, one page at a time.
    ///
    /// - Parameters:
    ///   - limit: 1…``maximumPageSize`` images per page.
    ///   - after: the `next` cursor of the previous page.
    /// - Throws: `.invalidArgument` for a bad limit, `.notFound` for a cursor whose image is gone.
    public func images(_ filter: ImageFilter = ImageFilter(), limit: Int = 100, after cursor: ImageCursor? = nil) async throws -> ImagePage {
        guard (1...Self.maximumPageSize).contains(limit) else {
            throw CatalogError.invalidArgument("A page holds 1 to \(Self.maximumPageSize) images; \(limit) was asked.")
        }
        return try await read("Listing images") { db in
            var request = filter.applied(to: ImageRecord.all())
            if let cursor {
                guard try ImageRecord.exists(db, key: cursor.afterImageID) else {
                    throw CatalogError(code: .notFound,
                                       message: "The page cursor points at image \(cursor.afterImageID), which is gone (the catalog was rebuilt?). List again from the first page.")
                }
                request = request.filter(sql: "(encoded_at, id) < (SELECT encoded_at, id FROM images WHERE id = ?)",
                                         arguments: [cursor.afterImageID])
            }
            let rows = try request
                .order(Column("encoded_at").desc, Column("id").desc)
                .limit(limit + 1)
                .fetchAll(db)
            let page = Array(rows.prefix(limit))
            let next = rows.count > limit ? page.last?.id.map(ImageCursor.init(afterImageID:)) : nil
            return ImagePage(images: page, next: next, total: try filter.applied(to: ImageRecord.all()).fetchCount(db))
        }
    }

    /// Every image whose name is `name` (as UTF-8 bytes, or as display name), newest first.
    public func images(named name: String, inArchive archiveID: String? = nil) async throws -> [ImageRecord] {
        try await read("Looking up image '\(name)'") { db in
            var request = ImageRecord.filter(sql: "(name_bytes = ? OR display_name = ?)", arguments: [Data(name.utf8), name])
            if let archiveID { request = request.filter(Column("archive_id") == archiveID) }
            return try request.order(Column("encoded_at").desc, Column("id").desc).fetchAll(db)
        }
    }

    /// The one image named `name`, in `archiveID` when given.
    ///
    /// - Throws: `.notFound`, or `.ambiguous` (listing the archives) when several archives hold
    ///   that name and no archive was given.
    public func image(named name: String, inArchive archiveID: String? = nil) async throws -> ImageRecord {
        let matches = try await images(named: name, inArchive: archiveID)
        guard let first = matches.first else {
            let place = archiveID.map { " in archive \($0)" } ?? ""
            throw CatalogError(code: .notFound, message: "No image named '\(name)'\(place). Search with a glob to find the exact name.", path: path)
        }
        guard matches.count == 1 else {
            let archives = matches.map(\.archiveID)
            throw CatalogError(code: .ambiguous,
                               message: "\(matches.count) images are named '\(name)', in archives \(archives.prefix(10).joined(separator: ", "))\(archives.count > 10 ? ", …" : ""). Name the archive too.",
                               path: path)
        }
        return first
    }

    /// Image with row id `id`, if any.
    public func image(id: Int64) async throws -> ImageRecord? {
        try await read("Reading image \(id)") { db in try ImageRecord.fetchOne(db, key: id) }
    }

    /// Totals over every indexed image, and per model.
    public func stats() async throws -> CatalogStats {
        try await read("Computing catalog statistics") { db in
            let totals = try Row.fetchOne(db, sql: """
                SELECT count(*) AS images,
                       coalesce(sum(original_bytes), 0) AS original,
                       coalesce(sum(latent_bytes), 0) AS latent,
                       coalesce(sum(width * height), 0) AS pixels,
                       avg(psnr) AS psnr, avg(ms_ssim) AS msssim
                FROM images
                """)!
            let archiveTotals = try Row.fetchOne(db, sql: """
                SELECT count(*) AS archives, coalesce(sum(bytes), 0) AS bytes FROM archives WHERE state IN ('indexed', 'damaged')
                """)!
            let perModel = try Row.fetchAll(db, sql: """
                SELECT a.model_id AS model, count(DISTINCT a.id) AS archives, count(i.id) AS images,
                       coalesce(sum(i.original_bytes), 0) AS original, coalesce(sum(i.latent_bytes), 0) AS latent
                FROM archives a LEFT JOIN images i ON i.archive_id = a.id
                WHERE a.state IN ('indexed', 'damaged')
                GROUP BY a.model_id ORDER BY a.model_id
                """).map { row in
                CatalogStats.ModelUsage(modelID: row["model"], archiveCount: row["archives"], imageCount: row["images"],
                                        originalBytes: row["original"], latentBytes: row["latent"])
            }
            let original: Int64 = totals["original"]
            let latent: Int64 = totals["latent"]
            let pixels: Int64 = totals["pixels"]
            let archiveBytes: Int64 = archiveTotals["bytes"]
            return CatalogStats(
                imageCount: totals["images"], archiveCount: archiveTotals["archives"],
                originalBytes: original, latentBytes: latent, archiveBytes: archiveBytes, pixelCount: pixels,
                latentRatio: latent > 0 ? Double(original) / Double(latent) : nil,
                archiveRatio: archiveBytes > 0 ? Double(original) / Double(archiveBytes) : nil,
                bitsPerPixel: pixels > 0 ? Double(latent) * 8 / Double(pixels) : nil,
                meanPSNR: totals["psnr"], meanMSSSIM: totals["msssim"], perModel: perModel)
        }
    }
}
