#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Yams

/// The daemon's configuration, read from a commented YAML file (see `Config/nacre.yaml`).
///
/// Loading validates every value and rejects unknown keys, naming the key path and line, so a
/// typo never silently falls back to a default. Relative paths are resolved against the folder of
/// the config file, so a checkout can run with `./var/...` paths.
public struct DaemonConfig: Sendable, Equatable {
    /// One watched inbox.
    public struct Spool: Sendable, Equatable {
        /// A short name for logs and the catalog (unique).
        public var name: String
        /// Absolute path of the inbox folder.
        public var inbox: String
        /// Encode target for files from this inbox; `nil` uses ``DaemonConfig/encode``.
        public var encode: EncodeTarget?

        public init(name: String, inbox: String, encode: EncodeTarget? = nil) {
            self.name = name
            self.inbox = inbox
            self.encode = encode
        }
    }

    /// What the codec aims for: a quality level (1...100) or a target PSNR in dB.
    public enum EncodeTarget: Sendable, Equatable {
        case quality(Int)
        case targetPSNR(Double)
    }

    /// What happens to an original once its archive is sealed, verified and indexed.
    public enum OriginalsPolicy: Sendable, Equatable {
        /// Unlink it.
        case delete
        /// Move it into this folder (absolute path).
        case move(doneDir: String)
    }

    /// The control socket and who may use it.
    public struct Socket: Sendable, Equatable {
        /// Absolute path of the socket file.
        public var path: String
        /// Permission bits of the socket file (e.g. `0o660`).
        public var mode: UInt32
        /// Peer uids allowed besides root and the daemon's own uid.
        public var allowedUIDs: [UInt32]
        /// Peer gids allowed (primary or supplementary group of the peer's user).
        public var allowedGIDs: [UInt32]
        /// A client that sends no complete request within this time is disconnected.
        public var idleTimeoutSeconds: Double
        /// Connections served at once; more are answered `busy` and closed.
        public var maxClients: Int
    }

    /// When the open batch is sealed into an archive.
    public struct Batching: Sendable, Equatable {
        public var maxImages: Int
        public var maxRawBytes: Int64
        public var maxAgeSeconds: Double
    }

    /// What an input image may be; larger files go to quarantine (`too_large`).
    public struct Limits: Sendable, Equatable {
        /// Largest PNG file in bytes.
        public var maxFileBytes: Int64
        /// Largest width × height the PNG header may declare (decompression bombs).
        public var maxPixels: Int
        /// Largest width or height.
        public var maxSide: Int

        public init(maxFileBytes: Int64 = 1 << 30, maxPixels: Int = 100_000_000, maxSide: Int = 32_768) {
            self.maxFileBytes = maxFileBytes
            self.maxPixels = maxPixels
            self.maxSide = maxSide
        }
    }

    /// How the spools are watched.
    public struct Watch: Sendable, Equatable {
        /// A file whose size and mtime did not change for this long is taken (when no close/rename
        /// event said it was complete).
        public var stabilitySeconds: Double
        /// Full rescans of every inbox, to catch what inotify missed (overflow, restarts).
        public var rescanIntervalSeconds: Double
    }

    /// When re-training runs (model lifecycle).
    public enum RetrainSchedule: Sendable, Equatable {
        /// Only on `retrain` command.
        case off
        /// Every day at this local time.
        case daily(hour: Int, minute: Int)
        /// Every this many seconds since the last run.
        case every(seconds: Double)
    }

    /// Re-training settings, used by the model lifecycle.
    /// How much of each image a sealed batch's verification decodes (`verify.decode`).
    public enum VerifyDecode: Sendable, Equatable {
        /// Every image to pixels, its PSNR against the original compared with the recorded one.
        case full
        /// Every image's latents, compared bit for bit with those its PSNR was measured on at
        /// encode (the decoder network then gives the same pixels); every `pixelCheckEvery`-th
        /// image of a batch (the first included), and any image encoded before a restart, is
        /// also decoded to pixels as in `full`.
        case latents(pixelCheckEvery: Int)

        /// Whether each image is measured on the codec thread before the next one encodes,
        /// rather than beside the encoder: in `full` mode the early pixel checks take the CPU
        /// time the encoder leaves idle (docs/PIPELINE.md, "Early checks").
        var measuresInline: Bool { self == .full }

        /// Whether the image at `position` in its batch is decoded to pixels.
        func decodesPixels(at position: Int) -> Bool {
            switch self {
            case .full: return true
            case .latents(let every): return position % every == 0
            }
        }
    }

    public struct Retrain: Sendable, Equatable {
        public var schedule: RetrainSchedule
        /// Wall-clock budget of one re-training run.
        public var budgetSeconds: Double
        /// Size of the reservoir of training crops sampled from ingested originals; 0 turns the
        /// reservoir off (no pixels kept beyond the archives, so no re-training either).
        public var reservoirCrops: Int
        /// Side of the square crops kept (a multiple of 64); smaller images give smaller crops.
        public var cropSide: Int
        /// Percentage of source images whose crops are held back for the gate.
        public var holdoutPercent: Double
        /// The BD-rate (percent) a challenger must beat to be promoted.
        public var gateMarginPercent: Double
        /// Compute threads of the training, export and gate child processes.
        public var threads: Int
        /// Optional cap on optimizer steps per run (besides the time budget), of the decoder and
        /// of the denoiser each.
        public var maxSteps: Int?
        /// Share of a run's budget (percent) spent fine-tuning the champion's denoiser for the
        /// challenger; 0 = none (a promoted challenger then has no denoiser).
        public var denoiserPercent: Double

        public init(schedule: RetrainSchedule, budgetSeconds: Double, reservoirCrops: Int, cropSide: Int = 256,
                    holdoutPercent: Double = 10, gateMarginPercent: Double = -1, threads: Int = 1, maxSteps: Int? = nil,
                    denoiserPercent: Double = 20) {
            self.schedule = schedule
            self.budgetSeconds = budgetSeconds
            self.reservoirCrops = reservoirCrops
            self.cropSide = cropSide
            self.holdoutPercent = holdoutPercent
            self.gateMarginPercent = gateMarginPercent
            self.threads = threads
            self.maxSteps = maxSteps
            self.denoiserPercent = denoiserPercent
        }
    }

    /// Absolute path of the file this config was read from (empty when parsed from a string
    /// without one).
    public var configPath: String
    public var spools: [Spool]
    public var archiveDir: String
    public var catalogPath: String
    public var stateDir: String
    public var quarantineDir: String
    public var originals: OriginalsPolicy
    public var socket: Socket
    /// Folders a `restore` may write into.
    public var restoreRoots: [String]
    public var batching: Batching
    /// Default encode target for every spool without its own.
    public var encode: EncodeTarget
    /// Worker threads for encoding; 0 means one per core.
    public var threads: Int
    /// The full coded model (encoder and decoder) new batches are encoded with; `nil` means the
    /// built-in base model (`BaseModel.locate()`). Restart-only.
    public var modelPath: String?
    public var retrain: Retrain
    /// Verification fails when a decoded image's PSNR is more than this many dB away from the
    /// PSNR recorded at encode.
    public var verifyToleranceDB: Double
    /// How much of each image verification decodes.
    public var verifyDecode: VerifyDecode = .full
    /// Per-collection adaptation (`encode.adapt_seconds`, `encode.adapt_images`); nil: off.
    public var adaptation: Adaptation?

    /// Before a batch is sealed its decoder is fine-tuned on the batch's own images for a bounded
    /// time, and the archive stores that decoder (bitstreams unchanged, PSNR measured again).
    public struct Adaptation: Sendable, Equatable {
        /// Time budget of the fine-tuning, per batch.
        public var seconds: Double
        /// At most this many of the batch's images (spread over it) are trained on.
        public var images: Int
    }
    /// Input size limits.
    public var limits: Limits
    public var watch: Watch
    /// swift-log level name (`trace` ... `critical`).
    public var logLevel: String
    /// Store the model's denoiser in new archives when it has one (`encode.denoiser`, default
    /// true): the built-in one with the built-in model, `NAME.nxdn` beside a model file
    /// `NAME.nxcm` (a promoted champion's). Restart-only.
    public var storesModelDenoiser = true

    /// Reads and validates the config file at `path`.
    public static func load(path: String) throws(DaemonError) -> DaemonConfig {
        let absolute = PathResolver.absolute(path, base: FileManager.default.currentDirectoryPath)
        let text: String
        do {
            let data = try Data(contentsOf: URL(fileURLWithPath: absolute))
            guard let decoded = String(data: data, encoding: .utf8) else {
                throw DaemonError(code: .configUnreadable, message: "\(absolute) is not UTF-8 text")
            }
            text = decoded
        } catch let error as DaemonError {
            throw error
        } catch {
            throw DaemonError(code: .configUnreadable,
                              message: "cannot read config file \(absolute): \(error.localizedDescription)")
        }
        return try parse(yaml: text, configPath: absolute)
    }

    /// Parses YAML text; relative paths resolve against the folder of `configPath`.
    public static func parse(yaml: String, configPath: String) throws(DaemonError) -> DaemonConfig {
        let root: Node?
        do {
            root = try Yams.compose(yaml: yaml)
        } catch {
            throw DaemonError(code: .configSyntax, message: "\(configPath) is not valid YAML: \(error)")
        }
        guard let root else {
            throw DaemonError(code: .configMissingKey, message: "the config file is empty; see Config/nacre.yaml")
        }
        let base = PathResolver.parentFolder(of: configPath)
        var config = try DaemonConfigParser(base: base).parse(root)
        config.configPath = configPath
        return config
    }

    /// Names of changed settings that only take effect after a restart (the socket, the state,
    /// catalog and archive locations, the log level, the encode model). A reload keeps their old values.
    public func restartRequiredChanges(to new: DaemonConfig) -> [String] {
        var changed: [String] = []
        if socket.path != new.socket.path { changed.append("socket.path") }
        if socket.mode != new.socket.mode { changed.append("socket.mode") }
        if stateDir != new.stateDir { changed.append("state_dir") }
        if catalogPath != new.catalogPath { changed.append("catalog") }
        if archiveDir != new.archiveDir { changed.append("archive_dir") }
        if logLevel != new.logLevel { changed.append("log_level") }
        if modelPath != new.modelPath { changed.append("encode.model") }
        if storesModelDenoiser != new.storesModelDenoiser { changed.append("encode.denoiser") }
        return changed
    }

    /// `new` with every restart-only setting taken from `self`: what a reload applies.
    public func applyingReloadable(from new: DaemonConfig) -> DaemonConfig {
        var merged = new
        merged.socket.path = socket.path
        merged.socket.mode = socket.mode
        merged.stateDir = stateDir
        merged.catalogPath = catalogPath
        merged.archiveDir = archiveDir
        merged.logLevel = logLevel
        merged.modelPath = modelPath
        merged.storesModelDenoiser = storesModelDenoiser
        return merged
    }

    /// The encode target for a spool: its own, else the global one.
    public func encodeTarget(for spool: Spool) -> EncodeTarget { spool.encode ?? encode }
}

/// Lexical path helpers (no symlink resolution: config paths are taken as written).
enum PathResolver {
    static func absolute(_ path: String, base: String) -> String {
        normalize(path.hasPrefix("/") ? path : base + "/" + path)
    }

    static func parentFolder(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return FileManager.default.currentDirectoryPath }
        let parent = String(path[..<slash])
        return parent.isEmpty ? "/" : parent
    }

    /// Removes `.` and empty components and folds `..` lexically.
    static func normalize(_ path: String) -> String {
        var parts: [Substring] = []
        for part in path.split(separator: "/", omittingEmptySubsequences: true) {
            if part == "." { continue }
            if part == ".." { if !parts.isEmpty { parts.removeLast() }; continue }
            parts.append(part)
        }
        return "/" + parts.joined(separator: "/")
    }
}
