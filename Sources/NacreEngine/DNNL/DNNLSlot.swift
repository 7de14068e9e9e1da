/// Argument slot numbers (the DNNL_ARG_* macros).
enum DNNLSlot {
    static let src: Int32 = 1
    static let dst: Int32 = 17
    static let weights: Int32 = 33
    static let bias: Int32 = 41
    static let diffSrc: Int32 = 129
    static let diffDst: Int32 = 145
    static let diffWeights: Int32 = 161
    static let diffBias: Int32 = 169
    static let from: Int32 = 1
    static let to: Int32 = 17
    static let scratchpad: Int32 = 80
}
