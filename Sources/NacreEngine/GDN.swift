/// Generalized divisive normalisation (Ballé et al.), per pixel over channels:
/// GDN `y_i = x_i / sqrt(β_i + Σ_j γ_ij x_j²)`, inverse GDN `y_i = x_i · sqrt(β_i + Σ_j γ_ij x_j²)`.
///
/// Built from oneDNN: `s = sqrt(u)`, `u = β + Γx²`, is a 1×1 convolution of x² with weights γ
/// (out i, in j) and bias β with a fused sqrt post-op; the rest are engine kernels (`y = x/s` or
/// `x·s`). Backward uses `v = ∂L/∂u` (GDN: `−½·dy·x/s³`, IGDN: `½·dy·x/s`); the 1×1
/// convolution's backward gives `Γᵀv` (so `dx = dy·∂y/∂x|_s + 2x·Γᵀv`) and `∂L/∂γ, ∂L/∂β`.
///
/// Non-negativity (CompressAI's `NonNegativeParametrizer`): the stored parameters `p` map to
/// `β = max(p, √(β_min + ε))² − ε` and `γ = max(p, √ε)² − ε` with ε = 2⁻³⁶, β_min = 10⁻⁶; the bound's
/// gradient passes where `p` is above it or where descent would raise `p`. Initialised to β = 1,
/// γ = 0.1·I.
public final class GDN: Layer {
    /// Reparametrised β (shape [C]); effective values via `effectiveBeta()`.
    public let beta: Parameter
    /// Reparametrised γ (shape [C, C], row i = output channel); effective values via `effectiveGamma()`.
    public let gamma: Parameter
    public let inverse: Bool
    public let engine: Engine
    let channels: Int
    let core: ConvolutionCore

    static let pedestal: Float = 0x1p-36
    static let betaBound: Float = (1e-6 + pedestal).squareRoot()
    static let gammaBound: Float = pedestal.squareRoot()

    private let betaEff: Parameter   // effective values + their gradients
    private let gammaEff: Parameter
    private var seenVersions = (-1, -1)
    private var effVersion = 0
    private var saved: (x: Tensor, s: Tensor)?

    public init(engine: Engine, name: String, channels: Int, inverse: Bool = false) throws {
        self.engine = engine
        self.channels = channels
        self.inverse = inverse
        core = try ConvolutionCore(label: name, kind: .convolution, inChannels: channels, outChannels: channels,
                                   kernel: 1, stride: 1, padding: 0, hasBias: true, computesInputGradient: true,
                                   sqrtOutput: true)
        beta = Parameter(name: name + ".beta", shape: [channels], initialValue: (1 + GDN.pedestal).squareRoot())
        gamma = Parameter(name: name + ".gamma", shape: [channels, channels], initialValue: GDN.pedestal.squareRoot())
        for i in 0..<channels { gamma.value[i * channels + i] = (0.1 + GDN.pedestal).squareRoot() }
        betaEff = Parameter(name: name + ".beta.effective", shape: [channels])
        gammaEff = Parameter(name: name + ".gamma.effective", shape: [channels, channels, 1, 1])
    }

    public var parameters: [Parameter] { [beta, gamma] }

    /// The β actually used (after reparametrisation).
    public func effectiveBeta() -> [Float] { refreshEffective(); return betaEff.values() }
    /// The γ actually used, row-major [C, C].
    public func effectiveGamma() -> [Float] { refreshEffective(); return gammaEff.values() }

    private func refreshEffective() {
        guard seenVersions != (beta.version, gamma.version) else { return }
        for i in 0..<beta.count {
            let b = max(beta.value[i], GDN.betaBound)
            betaEff.value[i] = b * b - GDN.pedestal
        }
        for i in 0..<gamma.count {
            let b = max(gamma.value[i], GDN.gammaBound)
            gammaEff.value[i] = b * b - GDN.pedestal
        }
        seenVersions = (beta.version, gamma.version)
        effVersion &+= 1
    }

    public func forward(_ x: Tensor, training: Bool) throws -> Tensor {
        guard x.shape.c == channels else {
            throw EngineError(.shapeMismatch, "\(inverse ? "IGDN" : "GDN") with \(channels) channels got \(x.shape)")
        }
        refreshEffective()
        let xd = x.data
        let x2 = x.emptyLike()
        let sq = x2.data
        engine.parallelFor(x.count) { r in for i in r { sq[i] = xd[i] * xd[i] } }
        let s = try core.forward(x2, weights: gammaEff.value, weightsVersion: effVersion, bias: betaEff.value,
                                 training: training, engine: engine)
        let y = x.emptyLike()
        let sd = s.data, yd = y.data
        if inverse {
            engine.parallelFor(x.count) { r in for i in r { yd[i] = xd[i] * sd[i] } }
        } else {
            engine.parallelFor(x.count) { r in for i in r { yd[i] = xd[i] / sd[i] } }
        }
        saved = training ? (x, s) : nil
        return y
    }

    public func backward(_ dy: Tensor) throws -> Tensor? {
        let (x, s) = try takeSaved(&saved, inverse ? "IGDN" : "GDN")
        try dy.requireShape(x.shape, "GDN.backward gradient")
        let xd = x.data, sd = s.data, g = dy.data
        let v = x.emptyLike()
        let vd = v.data
        // f = ∂y/∂x at fixed s: s (IGDN) or 1/s (GDN). Stored back into `s` to save a buffer.
        if inverse {
            engine.parallelFor(x.count) { r in for i in r { vd[i] = 0.5 * g[i] * xd[i] / sd[i] } }
        } else {
            engine.parallelFor(x.count) { r in
                for i in r {
                    let inv = 1 / sd[i]
                    vd[i] = -0.5 * g[i] * xd[i] * inv * inv * inv
                    sd[i] = inv
                }
            }
        }
        let fd = sd
        betaEff.zeroGradient()
        gammaEff.zeroGradient()
        guard let gv = try core.backward(v, weights: gammaEff.value, weightsVersion: effVersion,
                                         weightGradient: gammaEff.gradient, biasGradient: betaEff.gradient,
                                         engine: engine) else { return nil }
        let dx = x.emptyLike()
        let dxd = dx.data, gvd = gv.data
        engine.parallelFor(x.count) { r in for i in r { dxd[i] = g[i] * fd[i] + 2 * xd[i] * gvd[i] } }
        GDN.chain(effective: betaEff, into: beta, bound: GDN.betaBound)
        GDN.chain(effective: gammaEff, into: gamma, bound: GDN.gammaBound)
        return dx
    }

    /// Adds ∂L/∂p for `eff = max(p, bound)² − ε` (lower bound with pass-through when descent raises p).
    private static func chain(effective: Parameter, into p: Parameter, bound: Float) {
        for i in 0..<p.count {
            let ge = effective.gradient[i], v = p.value[i]
            if v >= bound || ge < 0 { p.gradient[i] += ge * 2 * max(v, bound) }
        }
    }
}
