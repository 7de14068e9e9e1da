import ArgumentParser
import Foundation
import NacreArchive
import NacreCodec
import NacreEngine

/// `nacre gate`: the champion/challenger gate of re-training (``ModelGate``) as a command, so the
/// daemon can run it in a low-priority child process.
struct GateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gate",
        abstract: "Judge a challenger model against the champion on held-back crops (BD-rate over ≥ 4 qualities).",
        discussion: """
            Each model is measured as an archive uses it: encoded with the full model, decoded with its decoder-only
            form (an int8 decoder measured as int8), and through its denoiser when both are given. The challenger is promoted when its BD-rate against the champion
            is below --margin (percent; default -1: at least 1 % fewer bits at equal PSNR); curves that share no PSNR
            range have no BD-rate, and the challenger is then rejected. Exit status 0 either way; the verdict is printed
            (with --json, one JSON object on stdout). Give a negative margin as --margin=-1.
            """)

    @Option(help: "The champion's full coded model (.nxcm).") var champion: String
    @Option(help: "The challenger's full coded model (.nxcm).") var challenger: String
    @Option(help: "Folder (or file) of held-back PNG crops, never trained on.") var data: String
    @Option(help: "BD-rate (percent) the challenger must beat.") var margin = -1.0
    @Option(help: "Qualities to measure, comma-separated (at least 4).") var qualities = "10,32,55,77,100"
    @Option(help: "The champion's denoiser block: with --challenger-denoiser, each model is measured through its own denoiser, as restored with `denoise`.")
    var championDenoiser: String?
    @Option(help: "The challenger's denoiser block (give both denoisers or neither).") var challengerDenoiser: String?
    @Option(help: "At most this many crops (the first by name).") var limit: Int?
    @Option(help: "Compute threads.") var threads: Int?
    @Flag(help: "Print the verdict as one JSON object.") var json = false

    func validate() throws {
        guard margin.isFinite else { throw ValidationError("--margin must be a finite percentage") }
        guard (championDenoiser == nil) == (challengerDenoiser == nil) else {
            throw ValidationError("give --champion-denoiser and --challenger-denoiser together, or neither (the models are compared alike)")
        }
        guard parsedQualities != nil else { throw ValidationError("--qualities: give numbers separated by commas, e.g. 10,32,55,77,100") }
    }

    private var parsedQualities: [Double]? {
        let values = qualities.split(separator: ",").map { Double($0.trimmingCharacters(in: .whitespaces)) }
        return values.contains(nil) ? nil : values.compactMap { $0 }
    }

    /// The catalog's id of a model: SHA-256 of the model frame its archives carry (the decoder,
    /// bundled with its denoiser when it has one).
    static func modelFrameID(_ model: CodecModel, _ denoiser: Denoiser?) -> String {
        SHA256.hash(ModelFrameContent(decoder: model.decoderBytes(), denoiser: denoiser?.serialized()).encoded()).hex
    }

    func run() throws {
        let engine = try Engine(threads: threads)
        let championModel = try CodecModel.load(contentsOfFile: champion, engine: engine)
        let challengerModel = try CodecModel.load(contentsOfFile: challenger, engine: engine)
        for (name, model) in [("champion", championModel), ("challenger", challengerModel)] where !model.canEncode {
            throw CodecCommandError("the \(name) is decoder-only; the gate encodes with it, so give the full model from `nacre export-model --out`")
        }
        var denoisers: [Denoiser?] = []
        for (name, path, model) in [("champion", championDenoiser, championModel), ("challenger", challengerDenoiser, challengerModel)] {
            let denoiser = try path.map { try Denoiser.load(contentsOfFile: $0, engine: engine) }
            do { try denoiser?.requireDecoder(model.identifier) } catch { throw CodecCommandError("the \(name)'s denoiser \(path!): \(error.message)") }
            denoisers.append(denoiser)
        }
        let crops = try CodecFiles.pngPaths(in: data, limit: limit).map(CodecFiles.readPNG)
        let gate = try ModelGate(qualities: parsedQualities ?? [], marginPercent: margin)
        let verdict = try gate.judge(champion: championModel, challenger: challengerModel, crops: crops,
                                     championDenoiser: denoisers[0], challengerDenoiser: denoisers[1])
        var summary = verdict.summary
        if denoisers[0] != nil { summary += " (each model measured through its own denoiser)" }
        let report = GateReport(
            championID: Self.modelFrameID(championModel, denoisers[0]), challengerID: Self.modelFrameID(challengerModel, denoisers[1]),
            bdRatePercent: verdict.bdRatePercent, marginPercent: margin, promote: verdict.promote, summary: summary, crops: crops.count,
            denoised: denoisers[0] != nil, champion: verdict.champion, challenger: verdict.challenger)
        if json {
            print(String(decoding: try report.json(), as: UTF8.self))
        } else {
            print(report.summary + " (\(report.crops) crops)")
        }
    }
}
