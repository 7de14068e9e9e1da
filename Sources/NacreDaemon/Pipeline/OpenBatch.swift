import Foundation
import NacreArchive

/// The batch being filled: an archive under its temporary name, and what sealing it depends on.
struct OpenBatch: Sendable {
    /// The archive id (its file name without `.nacre`).
    let archiveID: String
    /// Final path of the archive once sealed.
    let path: String
    /// When the batch was opened (its first image), for `batch.max_age_seconds`.
    let openedAt: Date
    private(set) var names: Set<[UInt8]> = []
    private(set) var rawBytes: Int64 = 0
    /// Per image, the ``LatentDigest`` its PSNR was measured with (memory only: after a restart
    /// verification decodes every image fully).
    private(set) var latentDigests: [[UInt8]: SHA256Digest] = [:]

    /// The adaptation to run before sealing (the config's when the batch was opened: its images
    /// are then kept in memory).
    let adaptation: DaemonConfig.Adaptation?

    init(archiveID: String, path: String, openedAt: Date = Date(), adaptation: DaemonConfig.Adaptation? = nil) {
        self.archiveID = archiveID
        self.path = path
        self.openedAt = openedAt
        self.adaptation = adaptation
    }

    var imageCount: Int { names.count }

    func holds(_ name: [UInt8]) -> Bool { names.contains(name) }

    mutating func add(_ name: [UInt8], rawBytes bytes: Int64, latentDigest: SHA256Digest) {
        names.insert(name)
        rawBytes += bytes
        latentDigests[name] = latentDigest
    }

    /// Whether a limit of `batching` is reached.
    func isFull(_ batching: DaemonConfig.Batching, now: Date = Date()) -> Bool {
        imageCount >= batching.maxImages || rawBytes >= batching.maxRawBytes
            || now.timeIntervalSince(openedAt) >= batching.maxAgeSeconds
    }

    /// A new archive id: UTC time plus random bits, so ids sort by time and never collide.
    static func newID(now: Date = Date()) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
        return formatter.string(from: now) + "-" + String(format: "%08x", UInt32.random(in: 0...UInt32.max))
    }

    /// The `status` form.
    func statusValue(now: Date = Date()) -> JSONValue {
        ["archive_id": .string(archiveID), "images": .int(Int64(imageCount)), "raw_bytes": .int(rawBytes),
         "age_seconds": .double((now.timeIntervalSince(openedAt) * 1000).rounded() / 1000)]
    }
}
