import Foundation
import Testing
@testable import NacreEngine

@Suite struct OptimizerTests {
    @Test func adamFirstStepsMatchHandComputation() throws {
        let p = Parameter(name: "p", shape: [2], initialValue: 1)
        let adam = Adam(parameters: [p], settings: .init(schedule: .constant(0.1)))
        // Step 1: bias-corrected m̂ = g, v̂ = g², so the update is lr·g/(|g| + ε) = lr·sign(g).
        p.gradient[0] = 4
        p.gradient[1] = -0.5
        try adam.step()
        #expect(Swift.abs(p.value[0] - 0.9) < 1e-6)
        #expect(Swift.abs(p.value[1] - 1.1) < 1e-6)
        // Step 2 with g = 2: m = 0.09·4·... computed in double below.
        adam.zeroGradients()
        p.gradient[0] = 2
        try adam.step()
        let m = 0.9 * 0.4 + 0.1 * 2, v = 0.999 * 0.016 + 0.001 * 4
        let mh = m / (1 - 0.81), vh = v / (1 - 0.998001)
        #expect(Swift.abs(Double(p.value[0]) - (0.9 - 0.1 * mh / (vh.squareRoot() + 1e-8))) < 1e-5)
        #expect(adam.stepCount == 2)
    }

    @Test func clippingScalesByGlobalNorm() throws {
        let a = Parameter(name: "a", shape: [1]), b = Parameter(name: "b", shape: [1])
        let adam = Adam(parameters: [a, b], settings: .init(schedule: .constant(1), maxGradientNorm: 1))
        a.gradient[0] = 3
        b.gradient[0] = 4
        let report = try adam.step()
        #expect(report.gradientNorm == 5)
        #expect(report.clipped)
        a.gradient[0] = .nan
        #expect(throws: EngineError.self) { try adam.step() }
    }

    @Test func schedules() {
        #expect(LearningRateSchedule.constant(0.5).rate(at: 1000) == 0.5)
        let step = LearningRateSchedule(base: 1, decay: .step(factor: 0.5, every: 10))
        #expect(step.rate(at: 9) == 1 && step.rate(at: 10) == 0.5 && step.rate(at: 25) == 0.25)
        let exp = LearningRateSchedule(base: 1, decay: .exponential(factor: 0.1, every: 100))
        #expect(Swift.abs(exp.rate(at: 50) - 0.1.squareRoot()) < 1e-12)
        let cosine = LearningRateSchedule(base: 1, decay: .cosine(final: 0.1, steps: 100), warmupSteps: 10)
        #expect(Swift.abs(cosine.rate(at: 0) - 0.1) < 1e-9)
        #expect(Swift.abs(cosine.rate(at: 50) - 0.55) < 1e-9)
        #expect(Swift.abs(cosine.rate(at: 500) - 0.1) < 1e-9)
    }

    @Test func optimizerStateRoundTrips() throws {
        let p = Parameter(name: "w", shape: [3], initialValue: 1)
        let adam = Adam(parameters: [p], settings: .init(schedule: .constant(0.01)))
        for _ in 0..<3 {
            adam.zeroGradients()
            for i in 0..<3 { p.gradient[i] = Float(i) - 1 }
            try adam.step()
        }
        let q = Parameter(name: "w", shape: [3])
        try q.setValues(p.values())
        let resumed = Adam(parameters: [q], settings: adam.settings)
        try resumed.restoreState(from: adam.stateTensors())
        #expect(resumed.stepCount == 3)
        for o in [adam, resumed] {
            o.zeroGradients()
            for i in 0..<3 { o.parameters[0].gradient[i] = 0.3 }
            try o.step()
        }
        #expect(p.values() == q.values())
    }
}
