import NacreEngine

extension CodecModel {
    /// μ of one tile for a mean model (the shape of the tile's y, before any gain), nil for a
    /// scale-only model; it does not depend on the quality. The mean head reads the integer h_s's
    /// last hidden features, which encoder and decoder compute identically; only the head itself
    /// is float, so the two sides' μ differ at most by float drift, which moves pixels and never a
    /// symbol.
    func latentMeans(for z: IntegerFeatureMap) throws -> Tensor? {
        guard let head = network.meanSynthesis, let step = meanHeadInputStep else { return nil }
        let hidden = try hyperSynthesis.hiddenFeatures(for: z)
        let input = try Tensor(shape: TensorShape(n: 1, c: hidden.channels, h: hidden.height, w: hidden.width),
                               values: hidden.values.map { Float($0) * step })
        return try head.forward(input, training: false)
    }

    /// μ·g (plain CHW) of means from `latentMeans`, nil when there are none.
    func gainedMeans(_ means: Tensor?, encoderGains: [Float]) throws -> [Float]? {
        try means.map { try network.engine.multiplyChannels($0, gains: encoderGains).values() }
    }

    /// g_s's input (before the decoder gains) of one decoded tile at `rect`: the symbols, plus μ·g
    /// for a mean model. Made one tile at a time, so a large image never holds every tile's twice.
    func latentValues(of latents: DecodedLatents, rect: (x: Int, y: Int, width: Int, height: Int),
                      position: QualityPosition) throws -> [Float] {
        let symbols = latents.y.map(Float.init)
        guard network.meanSynthesis != nil else { return symbols }
        let z = try IntegerFeatureMap(channels: configuration.hiddenChannels, height: ImagePadding.padded(rect.height) / 64,
                                      width: ImagePadding.padded(rect.width) / 64, values: latents.z)
        guard let means = try gainedMeans(latentMeans(for: z), encoderGains: gains(at: position).encoder) else { return symbols }
        return zip(symbols, means).map { $0 + $1 }
    }
}
