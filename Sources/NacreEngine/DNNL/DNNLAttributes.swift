import CDNNL

/// Primitive attributes (post-ops, scratchpad mode). Every primitive uses a user-provided
/// scratchpad from the engine's buffer pool: oneDNN's own per-call scratchpad allocation made
/// bf16 weight-gradient primitives take ~60 ms regardless of size (fresh pages every call).
final class DNNLAttributes: @unchecked Sendable {
    let raw: dnnl_primitive_attr_t

    init() throws {
        var a: dnnl_primitive_attr_t?
        try dnnlCheck(dnnl_primitive_attr_create(&a), "primitive_attr_create")
        raw = a!
        try dnnlCheck(dnnl_primitive_attr_set_scratchpad_mode(raw, dnnl_scratchpad_mode_user), "set_scratchpad_mode")
    }

    deinit { dnnl_primitive_attr_destroy(raw) }

    /// Appends `dst = sqrt(dst)` after the primitive's own computation.
    func appendSqrtPostOp() throws {
        var po: dnnl_post_ops_t?
        try dnnlCheck(dnnl_post_ops_create(&po), "post_ops_create")
        defer { dnnl_post_ops_destroy(po) }
        try dnnlCheck(dnnl_post_ops_append_eltwise(po, 1, dnnl_eltwise_sqrt, 0, 0), "post_ops_append_eltwise")
        try dnnlCheck(dnnl_primitive_attr_set_post_ops(raw, po), "primitive_attr_set_post_ops")
    }

    /// Adds the destination's previous contents to the result: `dst = result + dst`.
    func appendSumPostOp() throws {
        var po: dnnl_post_ops_t?
        try dnnlCheck(dnnl_post_ops_create(&po), "post_ops_create")
        defer { dnnl_post_ops_destroy(po) }
        try dnnlCheck(dnnl_post_ops_append_sum(po, 1), "post_ops_append_sum")
        try dnnlCheck(dnnl_primitive_attr_set_post_ops(raw, po), "primitive_attr_set_post_ops")
    }

    /// Multiplies the output by `scales`: one value (`mask` 0) or one per output channel (`mask`
    /// 1 << 1). In oneDNN 2.x an int8 convolution computes `scale · (Σ src·weights + bias)`.
    func setOutputScales(_ scales: [Float], mask: Int32) throws {
        try dnnlCheck(dnnl_primitive_attr_set_output_scales(raw, Int64(scales.count), mask, scales), "primitive_attr_set_output_scales")
    }
}
