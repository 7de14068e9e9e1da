import Testing
@testable import NacreEngine

@Suite struct ElementwiseTests {
    @Test(arguments: [Float(0), 0.2])
    func reluMatchesReferenceAndFiniteDifferences(_ slope: Float) throws {
        let engine = try Fixture.engine()
        let layer = ReLU(engine: engine, negativeSlope: slope)
        // Values kept away from 0 so central differences do not cross the kink.
        var values = Fixture.randomValues(2 * 16 * 3 * 3, seed: 3)
        values = values.map { $0 >= 0 ? $0 + 0.05 : $0 - 0.05 }
        let x = try Tensor(shape: TensorShape(n: 2, c: 16, h: 3, w: 3), values: values)
        let result = try GradientCheck(layer: layer, input: x) { xv, _ in
            Reference.leakyReLU(xv, slope: Double(slope))
        }.run()
        #expect(result.worst < 1e-5, "\(result)")
    }

    @Test(arguments: [3, 32])
    func channelGainMatchesReferenceAndFiniteDifferences(_ c: Int) throws {
        let engine = try Fixture.engine()
        let layer = ChannelGain(engine: engine, name: "gain", channels: c)
        try layer.gain.setValues(Fixture.randomValues(c, seed: 4, scale: 2))
        let shape = TensorShape(n: 2, c: c, h: 3, w: 2)
        let result = try GradientCheck(layer: layer, input: try Fixture.randomTensor(shape, seed: 5)) { xv, p in
            Reference.channelGain(xv, Fixture.refShape(shape), gains: p[0])
        }.run()
        #expect(result.worst < 1e-4, "\(result)")
    }

    @Test func plainValuesRoundTripThroughBlockedLayout() throws {
        let shape = TensorShape(n: 2, c: 32, h: 3, w: 5)
        let values = (0..<shape.count).map { Float($0) }
        let t = try Tensor(shape: shape, values: values)
        #expect(t.values() == values)
        #expect(t[1, 17, 2, 4] == Float(((1 * 32 + 17) * 3 + 2) * 5 + 4))
        #expect(t.storageIndex(n: 0, c: 1, h: 0, w: 0) == 1)  // channels innermost in nChw16c
        #expect(throws: EngineError.self) { _ = try Tensor(shape: shape, values: [1, 2, 3]) }
        #expect(throws: EngineError.self) { _ = try Tensor(zeros: TensorShape(n: 0, c: 1, h: 1, w: 1)) }
        #expect(throws: EngineError.self) { _ = try Tensor(zeros: TensorShape(n: 1 << 20, c: 1 << 20, h: 1 << 20, w: 1)) }
    }

    @Test func noiseIsUniformHalfUnitSeededAndIdentityGradient() throws {
        let engine = try Fixture.engine()
        let shape = TensorShape(n: 2, c: 16, h: 64, w: 64)
        let x = try Tensor(zeros: shape)
        let a = try UniformNoise(engine: engine, seed: 42).forward(x, training: true).values()
        let b = try UniformNoise(engine: engine, seed: 42).forward(x, training: true).values()
        let c = try UniformNoise(engine: engine, seed: 43).forward(x, training: true).values()
        #expect(a == b)
        #expect(a != c)
        #expect(a.allSatisfy { $0 >= -0.5 && $0 < 0.5 })
        let mean = a.reduce(0, +) / Float(a.count)
        let variance = a.reduce(0) { $0 + $1 * $1 } / Float(a.count)
        #expect(Swift.abs(mean) < 0.01)
        #expect(Swift.abs(variance - 1 / 12) < 0.005)
        let layer = UniformNoise(engine: engine, seed: 1)
        #expect(try layer.forward(x, training: false) === x)
        let dy = try Fixture.randomTensor(shape, seed: 2)
        #expect(try layer.backward(dy)?.values() == dy.values())
    }

    @Test func roundIsStraightThrough() throws {
        let engine = try Fixture.engine()
        let x = try Tensor(shape: TensorShape(n: 1, c: 3, h: 1, w: 2), values: [0.5, 1.5, -0.4, -2.6, 2.49, 7])
        let layer = RoundStraightThrough(engine: engine)
        #expect(try layer.forward(x, training: true).values() == [0, 2, -0, -3, 2, 7])
        #expect(try layer.backward(x)?.values() == x.values())
    }

    @Test func reductionsAndBinaryOps() throws {
        let engine = try Fixture.engine()
        let shape = TensorShape(n: 3, c: 16, h: 40, w: 40)  // big enough to run in parallel
        let av = Fixture.randomValues(shape.count, seed: 1), bv = Fixture.randomValues(shape.count, seed: 2)
        let a = try Tensor(shape: shape, values: av), b = try Tensor(shape: shape, values: bv)
        let sum = av.reduce(0.0) { $0 + Double($1) }
        #expect(Swift.abs(engine.sum(a) - sum) < 1e-6 * Double(shape.count))
        #expect(Swift.abs(engine.mean(a) - sum / Double(shape.count)) < 1e-9 * Double(shape.count))
        let mse = Swift.zip(av, bv).reduce(0.0) { $0 + Double(($1.0 - $1.1) * ($1.0 - $1.1)) } / Double(shape.count)
        #expect(Swift.abs(try engine.meanSquaredError(a, b) - mse) < 1e-6)
        let g = try engine.meanSquaredErrorGradient(a, b, weight: 3).values()
        #expect(Swift.abs(g[5] - 6 * (av[5] - bv[5]) / Float(shape.count)) < 1e-9)
        #expect(try engine.add(a, b).values()[7] == av[7] + bv[7])
        #expect(try engine.subtract(a, b).values()[7] == av[7] - bv[7])
        #expect(try engine.multiply(a, b).values()[9] == av[9] * bv[9])
        let (da, db) = try engine.multiplyBackward(b, a, b)
        #expect(da.values()[3] == bv[3] * bv[3] && db.values()[3] == bv[3] * av[3])
        #expect(engine.abs(a).values()[4] == Swift.abs(av[4]))
        #expect(Swift.abs(engine.sumMap(engine.abs(a)) { Double($0) } - av.reduce(0.0) { $0 + Double(Swift.abs($1)) }) < 1e-3)
        let c = a.copy()
        try engine.addInPlace(c, b)
        #expect(c.values()[11] == av[11] + bv[11])
        #expect(throws: EngineError.self) { _ = try engine.add(a, try Tensor(zeros: TensorShape(n: 1, c: 16, h: 2, w: 2))) }
    }

    @Test func threadSettingReachesOpenMP() throws {
        #expect(OpenMP.shared.isAvailable)
        for n in [1, 2] {
            let engine = try Engine(threads: n)
            var seen = 0
            OpenMP.shared.parallel(threads: engine.threads) { _, team in if team > seen { seen = team } }
            #expect(seen == n)
            engine.context.applyThreads()
            #expect(OpenMP.shared.maxThreads == n)
        }
    }
}
