import ArgumentParser
import Foundation
import NacreEngine

/// `nacre bench engine`: times a hyperprior training step (batch 8 of 256² crops, N=64, M=96) in
/// f32 and bf16, synthesis-only inference on a 768×512 image, peak RSS, and optionally the
/// PyTorch peer (`bench/torch_peer.py`) for the ratios.
struct EngineBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "engine",
        abstract: "Time the oneDNN engine on the codec's hyperprior (training step and inference)."
    )

    @Option(help: "OpenMP threads.") var threads = 2
    @Option(help: "Timed training steps per precision (after 2 warm-up steps).") var steps = 5
    @Option(help: "Timed inference runs.") var inferRuns = 10
    @Option(help: "Batch size.") var batch = 8
    @Option(help: "Crop size.") var crop = 256
    @Option(help: "Precisions to time: f32, bf16 or both (comma-separated).") var precisions = "f32,bf16"
    @Flag(help: "In bf16, compute weight gradients in bf16 too (Engine.bf16WeightGradients).")
    var bf16WeightGradients = false
    @Option(help: "Path of bench/torch_peer.py to run as the PyTorch peer; empty to skip.") var peer = ""
    @Option(help: "Python interpreter for the peer.") var python = "python3"

    @Option(help: "OpenMP wait policy (passive sleeps idle threads; active spins). Applied by re-executing with OMP_WAIT_POLICY set, since libgomp reads it at load time; 'inherit' keeps the environment's.")
    var waitPolicy = "passive"

    func run() async throws {
        if waitPolicy != "inherit", !Engine.reexecuteWithOpenMPWaitPolicy(waitPolicy) {
            print("warning: could not re-execute with OMP_WAIT_POLICY=\(waitPolicy); continuing with libgomp defaults")
        }
        var report: [String: Double] = [:]
        print("nacre bench engine: OMP_WAIT_POLICY=\(String(cString: getenv("OMP_WAIT_POLICY") ?? strdup("default"))), threads \(threads), batch \(batch)×3×\(crop)×\(crop), N=64 M=96")
        for name in precisions.split(separator: ",").map(String.init) {
            guard let precision = Precision(rawValue: name) else {
                throw ValidationError("unknown precision \(name); use f32 or bf16")
            }
            let engine = try Engine(threads: threads, precision: precision)
            engine.bf16WeightGradients = bf16WeightGradients
            let model = try BenchHyperprior(engine: engine)
            let adam = Adam(parameters: model.parameters,
                            settings: .init(schedule: .constant(1e-4), maxGradientNorm: 1))
            var rng = SeededRandom(seed: 3)
            let shape = TensorShape(n: batch, c: 3, h: crop, w: crop)
            let x = try Tensor(shape: shape, values: (0..<shape.count).map { _ in rng.unitFloat() })
            for _ in 0..<2 { _ = try model.trainStep(x, lambda: 0.013, optimizer: adam) }
            var times: [Double] = []
            var last = BenchHyperprior.StepResult(loss: 0, bpp: 0, mse: 0)
            let cpu0 = cpuSeconds()
            for _ in 0..<steps {
                let t = ContinuousClock.now
                last = try model.trainStep(x, lambda: 0.013, optimizer: adam)
                times.append(seconds(ContinuousClock.now - t))
            }
            let cpu = (cpuSeconds() - cpu0) / Double(steps)
            let med = median(times)
            report["train_\(name)"] = med
            report["train_min_\(name)"] = times.min()!
            report["train_cpu_\(name)"] = cpu
            print(String(format: "  train step %@: median %.3f s, min %.3f s, CPU %.3f s/step (%d steps; loss %.2f, bpp %.3f, mse %.5f)",
                         name, med, times.min()!, cpu, steps, last.loss, last.bpp, last.mse))

            let y = try Tensor(shape: TensorShape(n: 1, c: 96, h: 32, w: 48),
                               values: (0..<96 * 32 * 48).map { _ in rng.symmetric(3) })
            for _ in 0..<2 { _ = try model.gS.forward(y, training: false) }
            var infer: [Double] = []
            for _ in 0..<inferRuns {
                let t = ContinuousClock.now
                _ = try model.gS.forward(y, training: false)
                infer.append(seconds(ContinuousClock.now - t))
            }
            report["infer_\(name)"] = median(infer)
            report["infer_min_\(name)"] = infer.min()!
            print(String(format: "  inference g_s 768×512 %@: median %.4f s, min %.4f s", name, median(infer), infer.min()!))
        }
        let rss = peakRSSMiB()
        print(String(format: "  peak RSS: %.0f MiB", rss))

        guard !peer.isEmpty else { return }
        print("running PyTorch peer: \(python) \(peer) …")
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = [python, peer, "--threads", String(threads), "--steps", String(steps)]
        let pipe = Pipe()
        p.standardOutput = pipe
        try p.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guard p.terminationStatus == 0,
              let line = String(decoding: data, as: UTF8.self).split(separator: "\n").last,
              let json = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
              let torchTrain = json["train_step_s_median"] as? Double,
              let torchInfer = json["infer_s_median"] as? Double else {
            print("  peer failed (exit \(p.terminationStatus)); is `pip install torch compressai` done?")
            return
        }
        let torchRSS = json["peak_rss_mib"] as? Double ?? 0
        let torchTrainMin = json["train_step_s_min"] as? Double ?? torchTrain
        let torchInferMin = json["infer_s_min"] as? Double ?? torchInfer
        let torchCPU = json["train_step_cpu_s"] as? Double ?? 0
        print(String(format: "  PyTorch: train step median %.3f s, min %.3f s, CPU %.3f s/step; inference median %.4f s, min %.4f s; peak RSS %.0f MiB",
                     torchTrain, torchTrainMin, torchCPU, torchInfer, torchInferMin, torchRSS))
        for name in ["f32", "bf16"] {
            if let t = report["train_\(name)"], let tm = report["train_min_\(name)"], let c = report["train_cpu_\(name)"] {
                print(String(format: "  ratio train %@: %.2f× (median), %.2f× (min), %.2f× (CPU time) faster than PyTorch (bar 1.5×)",
                             name, torchTrain / t, torchTrainMin / tm, torchCPU / c))
            }
            if let t = report["infer_\(name)"], let tm = report["infer_min_\(name)"] {
                print(String(format: "  ratio inference %@: %.2f× (median), %.2f× (min) faster than PyTorch (bar 2×)",
                             name, torchInfer / t, torchInferMin / tm))
            }
        }
    }

    private func seconds(_ d: Duration) -> Double {
        Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
    }

    private func median(_ v: [Double]) -> Double {
        let s = v.sorted()
        return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
    }

    /// User + system CPU time of this process.
    private func cpuSeconds() -> Double {
        var u = rusage()
        getrusage(RUSAGE_SELF.rawValue, &u)
        return Double(u.ru_utime.tv_sec + u.ru_stime.tv_sec) + Double(u.ru_utime.tv_usec + u.ru_stime.tv_usec) * 1e-6
    }

    private func peakRSSMiB() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_maxrss) / 1024
    }
}
