#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Yams

/// Turns the YAML tree into a validated ``DaemonConfig``. Every key the daemon knows is listed
/// here; any other key is an error.
struct DaemonConfigParser {
    /// Folder that relative paths resolve against.
    let base: String

    /// `sun_path` holds 108 bytes including the terminating NUL.
    static let maxSocketPathBytes = 107

    func parse(_ root: Node) throws(DaemonError) -> DaemonConfig {
        let top = try ConfigNode(node: root, path: "").mapping(allowed: [
            "spools", "archive_dir", "catalog", "state_dir", "quarantine_dir", "originals", "socket",
            "restore_roots", "batch", "encode", "verify", "limits", "watch", "retrain", "log_level",
        ])
        let stateDir = try top.required("state_dir").path(base: base)
        let encodeMap = try top["encode"]?.mapping(allowed: ["quality", "target_psnr_db", "threads", "model", "adapt_seconds", "adapt_images", "denoiser"])
        let encode = try encodeMap.map { m throws(DaemonError) in try encodeTarget(m, required: true) ?? .quality(75) } ?? .quality(75)
        let threads = try encodeMap?["threads"]?.int(in: 0...1024) ?? 0
        let modelPath = try encodeMap?["model"]?.path(base: base)
        let storesModelDenoiser = try encodeMap?["denoiser"]?.bool() ?? true

        let verifyMap = try top["verify"]?.mapping(allowed: ["tolerance_db", "decode", "pixel_check_every"])
        let config = DaemonConfig(
            configPath: "",
            spools: try spools(top.required("spools")),
            archiveDir: try top.required("archive_dir").path(base: base),
            catalogPath: try top["catalog"]?.path(base: base) ?? stateDir + "/catalog.sqlite",
            stateDir: stateDir,
            quarantineDir: try top.required("quarantine_dir").path(base: base),
            originals: try originals(top["originals"]),
            socket: try socket(top.required("socket")),
            restoreRoots: try (top["restore_roots"]?.sequence() ?? []).map { n throws(DaemonError) in try n.path(base: base) },
            batching: try batching(top["batch"]),
            encode: encode,
            threads: threads,
            modelPath: modelPath,
            retrain: try retrain(top["retrain"]),
            verifyToleranceDB: try verifyMap?["tolerance_db"]?.double(in: 0...10) ?? 0.01,
            verifyDecode: try verifyDecode(verifyMap),
            adaptation: try adaptation(encodeMap),
            limits: try limits(top["limits"]),
            watch: try watch(top["watch"]),
            logLevel: try logLevel(top["log_level"]),
            storesModelDenoiser: storesModelDenoiser
        )
        try checkFolders(config, top: top)
        return config
    }

    private func spools(_ node: ConfigNode) throws(DaemonError) -> [DaemonConfig.Spool] {
        let items = try node.sequence()
        guard !items.isEmpty else { throw node.invalid("at least one spool is needed") }
        var result: [DaemonConfig.Spool] = []
        for item in items {
            let m = try item.mapping(allowed: ["name", "inbox", "quality", "target_psnr_db"])
            let nameNode = try m.required("name")
            let name = try nameNode.nonEmptyString()
            guard name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }) else {
                throw nameNode.invalid("spool names use letters, digits, '-' and '_' only")
            }
            guard !result.contains(where: { $0.name == name }) else { throw nameNode.invalid("spool name '\(name)' is used twice") }
            let inboxNode = try m.required("inbox")
            let inbox = try inboxNode.path(base: base)
            guard !result.contains(where: { $0.inbox == inbox }) else { throw inboxNode.invalid("inbox \(inbox) is used by two spools") }
            result.append(.init(name: name, inbox: inbox, encode: try encodeTarget(m, required: false)))
        }
        return result
    }

    /// `quality` or `target_psnr_db`, not both; `nil` when neither and not `required`.
    private func encodeTarget(_ m: ConfigMapping, required: Bool) throws(DaemonError) -> DaemonConfig.EncodeTarget? {
        switch (m["quality"], m["target_psnr_db"]) {
        case (let q?, nil): return .quality(try q.int(in: 1...100))
        case (nil, let p?): return .targetPSNR(try p.double(in: 10...80))
        case (_?, let p?): throw p.invalid("set either quality or target_psnr_db, not both")
        case (nil, nil): return required ? .quality(75) : nil
        }
    }

    private func limits(_ node: ConfigNode?) throws(DaemonError) -> DaemonConfig.Limits {
        guard let node else { return DaemonConfig.Limits() }
        let m = try node.mapping(allowed: ["max_file_bytes", "max_pixels", "max_side"])
        let defaults = DaemonConfig.Limits()
        return DaemonConfig.Limits(
            maxFileBytes: try m["max_file_bytes"]?.byteSize(in: 1...(1 << 40)) ?? defaults.maxFileBytes,
            maxPixels: try m["max_pixels"]?.int(in: 1...100_000_000) ?? defaults.maxPixels,
            maxSide: try m["max_side"]?.int(in: 1...1_000_000) ?? defaults.maxSide)
    }

    private func originals(_ node: ConfigNode?) throws(DaemonError) -> DaemonConfig.OriginalsPolicy {
        guard let node else { return .delete }
        let m = try node.mapping(allowed: ["policy", "done_dir"])
        let policyNode = try m.required("policy")
        switch try policyNode.string() {
        case "delete":
            if let done = m["done_dir"] { throw done.invalid("done_dir is only used with policy: move") }
            return .delete
        case "move":
            return .move(doneDir: try m.required("done_dir").path(base: base))
        case let other:
            throw policyNode.invalid("policy must be 'delete' or 'move', got '\(other)'")
        }
    }

    private func adaptation(_ m: ConfigMapping?) throws(DaemonError) -> DaemonConfig.Adaptation? {
        let seconds = try m?["adapt_seconds"]?.double(in: 0...86_400) ?? 0
        let images = try m?["adapt_images"]?.int(in: 1...100_000)
        guard seconds > 0 else {
            if let node = m?["adapt_images"] { throw node.invalid("adapt_images is only used with adapt_seconds above 0") }
            return nil
        }
        return DaemonConfig.Adaptation(seconds: seconds, images: images ?? 64)
    }

    private func verifyDecode(_ m: ConfigMapping?) throws(DaemonError) -> DaemonConfig.VerifyDecode {
        let everyNode = m?["pixel_check_every"]
        switch try m?["decode"]?.string() ?? "full" {
        case "full":
            if let everyNode { throw everyNode.invalid("pixel_check_every is only used with decode: latents") }
            return .full
        case "latents":
            return .latents(pixelCheckEvery: try everyNode?.int(in: 1...1_000_000) ?? 16)
        case let other:
            throw m!["decode"]!.invalid("decode must be 'full' or 'latents', got '\(other)'")
        }
    }

    private func socket(_ node: ConfigNode) throws(DaemonError) -> DaemonConfig.Socket {
        let m = try node.mapping(allowed: ["path", "mode", "allowed_uids", "allowed_gids", "idle_timeout_seconds", "max_clients"])
        let pathNode = try m.required("path")
        let path = try pathNode.path(base: base)
        guard path.utf8.count <= Self.maxSocketPathBytes else {
            throw pathNode.invalid("\(path) is \(path.utf8.count) bytes; Unix socket paths are limited to \(Self.maxSocketPathBytes)")
        }
        return DaemonConfig.Socket(
            path: path,
            mode: try m["mode"].map { n throws(DaemonError) in try mode(n) } ?? 0o660,
            allowedUIDs: try (m["allowed_uids"]?.sequence() ?? []).map { n throws(DaemonError) in try userID(n) },
            allowedGIDs: try (m["allowed_gids"]?.sequence() ?? []).map { n throws(DaemonError) in try groupID(n) },
            idleTimeoutSeconds: try m["idle_timeout_seconds"]?.double(in: 0.05...3600) ?? 30,
            maxClients: try m["max_clients"]?.int(in: 1...1024) ?? 64
        )
    }

    /// Octal permission bits written as text, `"0660"` or `"660"` (quoted, so YAML does not read
    /// them as a decimal or YAML 1.1 octal number).
    private func mode(_ node: ConfigNode) throws(DaemonError) -> UInt32 {
        let text = try node.string()
        guard (3...4).contains(text.count), let bits = UInt32(text, radix: 8), bits <= 0o777 else {
            throw node.invalid("mode must be octal permission bits such as \"0660\", got '\(text)'")
        }
        guard bits & 0o600 == 0o600 else {
            throw node.invalid("mode \(text) must give the owner read and write (0600), or the daemon's own user cannot connect")
        }
        return bits
    }

    /// A uid number or a user name looked up in the user database.
    private func userID(_ node: ConfigNode) throws(DaemonError) -> UInt32 {
        let text = try node.nonEmptyString()
        if let number = UInt32(text) { return number }
        guard let uid = UserDatabase.uid(named: text) else { throw node.invalid("no user named '\(text)' on this system") }
        return uid
    }

    /// A gid number or a group name looked up in the group database.
    private func groupID(_ node: ConfigNode) throws(DaemonError) -> UInt32 {
        let text = try node.nonEmptyString()
        if let number = UInt32(text) { return number }
        guard let gid = UserDatabase.gid(named: text) else { throw node.invalid("no group named '\(text)' on this system") }
        return gid
    }

    private func batching(_ node: ConfigNode?) throws(DaemonError) -> DaemonConfig.Batching {
        let m = try node?.mapping(allowed: ["max_images", "max_raw_bytes", "max_age_seconds"])
        return DaemonConfig.Batching(
            maxImages: try m?["max_images"]?.int(in: 1...1_000_000) ?? 500,
            maxRawBytes: try m?["max_raw_bytes"]?.byteSize(in: 1...(1 << 50)) ?? (2 << 30),
            maxAgeSeconds: try m?["max_age_seconds"]?.double(in: 1...(30 * 86_400)) ?? 600
        )
    }

    private func watch(_ node: ConfigNode?) throws(DaemonError) -> DaemonConfig.Watch {
        let m = try node?.mapping(allowed: ["stability_seconds", "rescan_interval_seconds"])
        return DaemonConfig.Watch(
            stabilitySeconds: try m?["stability_seconds"]?.double(in: 0...3600) ?? 5,
            rescanIntervalSeconds: try m?["rescan_interval_seconds"]?.double(in: 0.05...86_400) ?? 60
        )
    }

    private func retrain(_ node: ConfigNode?) throws(DaemonError) -> DaemonConfig.Retrain {
        let m = try node?.mapping(allowed: ["schedule", "budget_minutes", "reservoir_crops", "crop_side", "holdout_percent",
                                            "gate_margin_percent", "threads", "max_steps", "denoiser_percent"])
        let crops = try m?["reservoir_crops"]?.int(in: 0...10_000_000) ?? 4096
        if crops > 0 && crops < 16, let node = m?["reservoir_crops"] {
            throw node.invalid("reservoir_crops must be 0 (off) or at least 16, got \(crops)")
        }
        let side = try m?["crop_side"]?.int(in: 64...1024) ?? 256
        if side % 64 != 0, let node = m?["crop_side"] { throw node.invalid("crop_side must be a multiple of 64, got \(side)") }
        return DaemonConfig.Retrain(
            schedule: try m?["schedule"].map { n throws(DaemonError) in try schedule(n) } ?? .off,
            budgetSeconds: (try m?["budget_minutes"]?.double(in: 1...(7 * 24 * 60)) ?? 60) * 60,
            reservoirCrops: crops,
            cropSide: side,
            holdoutPercent: try m?["holdout_percent"]?.double(in: 1...50) ?? 10,
            gateMarginPercent: try m?["gate_margin_percent"]?.double(in: -100...1000) ?? -1,
            threads: try m?["threads"]?.int(in: 1...256) ?? 1,
            maxSteps: try m?["max_steps"]?.int(in: 1...100_000_000),
            denoiserPercent: try m?["denoiser_percent"]?.double(in: 0...90) ?? 20
        )
    }

    /// `off`, `daily HH:MM` or `every N` with a unit `s`, `m`, `h` or `d` (e.g. `every 6h`).
    private func schedule(_ node: ConfigNode) throws(DaemonError) -> DaemonConfig.RetrainSchedule {
        let text = try node.string().trimmingCharacters(in: .whitespaces)
        let words = text.split(separator: " ", omittingEmptySubsequences: true)
        let usage = "schedule must be 'off', 'daily HH:MM' or 'every N{s,m,h,d}', got '\(text)'"
        switch words.first {
        case "off" where words.count == 1:
            return .off
        case "daily" where words.count == 2:
            let clock = words[1].split(separator: ":")
            guard clock.count == 2, let h = Int(clock[0]), let m = Int(clock[1]), (0..<24).contains(h), (0..<60).contains(m) else {
                throw node.invalid(usage)
            }
            return .daily(hour: h, minute: m)
        case "every" where words.count == 2:
            let units: [Character: Double] = ["s": 1, "m": 60, "h": 3600, "d": 86_400]
            guard let unit = words[1].last.flatMap({ units[$0] }), let n = Double(words[1].dropLast()), n > 0 else {
                throw node.invalid(usage)
            }
            guard n * unit >= 60 else { throw node.invalid("re-training more often than every minute is not sensible") }
            return .every(seconds: n * unit)
        default:
            throw node.invalid(usage)
        }
    }

    private func logLevel(_ node: ConfigNode?) throws(DaemonError) -> String {
        guard let node else { return "info" }
        let level = try node.string()
        let known = ["trace", "debug", "info", "notice", "warning", "error", "critical"]
        guard known.contains(level) else { throw node.invalid("log_level must be one of \(known.joined(separator: ", "))") }
        return level
    }

    /// Inboxes must not coincide with or lie inside the folders the daemon writes files into,
    /// or it would ingest its own output.
    private func checkFolders(_ config: DaemonConfig, top: ConfigMapping) throws(DaemonError) {
        var outputs = [("archive_dir", config.archiveDir), ("quarantine_dir", config.quarantineDir), ("state_dir", config.stateDir)]
        if case .move(let done) = config.originals { outputs.append(("originals.done_dir", done)) }
        for (index, spool) in config.spools.enumerated() {
            for (key, folder) in outputs where spool.inbox == folder || spool.inbox.hasPrefix(folder + "/") || folder.hasPrefix(spool.inbox + "/") {
                throw DaemonError(code: .configInvalidValue,
                                  message: "inbox \(spool.inbox) overlaps \(key) \(folder); give them separate folders",
                                  keyPath: "spools[\(index)].inbox")
            }
        }
    }
}
