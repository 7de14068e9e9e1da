/// How closely the integer h_s follows the float one (an export diagnostic).
public struct ScaleIndexAgreement: Sendable {
    /// Fraction of y elements whose integer index equals the float index clamp(round(t + a/Δ), 0, 63).
    public var equal: Double
    /// Fraction within one table step.
    public var withinOne: Double
    /// Largest difference in table steps.
    public var maximumDifference: Int
}
