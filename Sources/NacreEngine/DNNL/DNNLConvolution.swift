import CDNNL

/// Builders for forward, backward-data and backward-weights convolution/deconvolution primitives.
enum DNNLConvolution {
    static func forward(_ kind: DNNLConvolutionKind, context: DNNLContext, src: DNNLMemoryDesc,
                        weights: DNNLMemoryDesc, bias: DNNLMemoryDesc?, dst: DNNLMemoryDesc,
                        geometry g: DNNLConvolutionGeometry, training: Bool,
                        attr: DNNLAttributes? = nil) throws -> DNNLPrimitive {
        var desc = dnnl_convolution_desc_t()
        var s = src.raw, w = weights.raw, d = dst.raw
        var b = bias?.raw ?? dnnl_memory_desc_t()
        let prop = training ? dnnl_forward_training : dnnl_forward_inference
        let status: dnnl_status_t = withUnsafePointer(to: &b) { bp in
            let bPtr = bias == nil ? nil : bp
            switch kind {
            case .convolution:
                return dnnl_convolution_forward_desc_init(&desc, prop, dnnl_convolution_direct, &s, &w, bPtr, &d,
                                                          g.strides, g.paddingLeft, g.paddingRight)
            case .deconvolution:
                return dnnl_deconvolution_forward_desc_init(&desc, prop, dnnl_deconvolution_direct, &s, &w, bPtr, &d,
                                                            g.strides, g.paddingLeft, g.paddingRight)
            }
        }
        try dnnlCheck(status, "\(kind) forward desc")
        return try DNNLPrimitive(label: "\(kind) forward", opDesc: &desc, attr: attr, context: context, hint: nil)
    }

    static func backwardData(_ kind: DNNLConvolutionKind, context: DNNLContext, diffSrc: DNNLMemoryDesc,
                             weights: DNNLMemoryDesc, diffDst: DNNLMemoryDesc, geometry g: DNNLConvolutionGeometry,
                             hint: DNNLPrimitive) throws -> DNNLPrimitive {
        var desc = dnnl_convolution_desc_t()
        var s = diffSrc.raw, w = weights.raw, d = diffDst.raw
        let status: dnnl_status_t
        switch kind {
        case .convolution:
            status = dnnl_convolution_backward_data_desc_init(&desc, dnnl_convolution_direct, &s, &w, &d,
                                                              g.strides, g.paddingLeft, g.paddingRight)
        case .deconvolution:
            status = dnnl_deconvolution_backward_data_desc_init(&desc, dnnl_deconvolution_direct, &s, &w, &d,
                                                                g.strides, g.paddingLeft, g.paddingRight)
        }
        try dnnlCheck(status, "\(kind) backward-data desc")
        return try DNNLPrimitive(label: "\(kind) backward data", opDesc: &desc, attr: nil, context: context, hint: hint)
    }

    static func backwardWeights(_ kind: DNNLConvolutionKind, context: DNNLContext, src: DNNLMemoryDesc,
                                diffWeights: DNNLMemoryDesc, diffBias: DNNLMemoryDesc?, diffDst: DNNLMemoryDesc,
                                geometry g: DNNLConvolutionGeometry, hint: DNNLPrimitive) throws -> DNNLPrimitive {
        var desc = dnnl_convolution_desc_t()
        var s = src.raw, w = diffWeights.raw, d = diffDst.raw
        var b = diffBias?.raw ?? dnnl_memory_desc_t()
        let status: dnnl_status_t = withUnsafePointer(to: &b) { bp in
            let bPtr = diffBias == nil ? nil : bp
            switch kind {
            case .convolution:
                return dnnl_convolution_backward_weights_desc_init(&desc, dnnl_convolution_direct, &s, &w, bPtr, &d,
                                                                   g.strides, g.paddingLeft, g.paddingRight)
            case .deconvolution:
                return dnnl_deconvolution_backward_weights_desc_init(&desc, dnnl_deconvolution_direct, &s, &w, bPtr,
                                                                     &d, g.strides, g.paddingLeft, g.paddingRight)
            }
        }
        try dnnlCheck(status, "\(kind) backward-weights desc")
        return try DNNLPrimitive(label: "\(kind) backward weights", opDesc: &desc, attr: nil, context: context,
                                 hint: hint)
    }

    /// A reorder (layout and/or data-type conversion) from `from` to `to`.
    /// `attr` may carry output scales (e.g. f32 → s8 quantization).
    static func reorder(context: DNNLContext, from: DNNLMemoryDesc, to: DNNLMemoryDesc,
                        attr: DNNLAttributes? = nil) throws -> DNNLPrimitive {
        var pd: dnnl_primitive_desc_t?
        var f = from.raw, t = to.raw
        let attr = try attr ?? DNNLAttributes()
        try dnnlCheck(dnnl_reorder_primitive_desc_create(&pd, &f, context.engine, &t, context.engine, attr.raw),
                      "reorder_primitive_desc_create")
        return try DNNLPrimitive(label: "reorder", pd: pd!)
    }
}

extension DNNLPrimitive {
    /// Runs a reorder primitive from one buffer to another.
    func reorder(_ context: DNNLContext, from: DNNLMemoryDesc, _ src: UnsafeMutableRawPointer,
                 to: DNNLMemoryDesc, _ dst: UnsafeMutableRawPointer) throws {
        try execute(context, [DNNLArgument(slot: DNNLSlot.from, desc: from, data: src),
                              DNNLArgument(slot: DNNLSlot.to, desc: to, data: dst)])
    }

    static let srcQuery = dnnl_query_src_md
    static let dstQuery = dnnl_query_dst_md
    static let weightsQuery = dnnl_query_weights_md
    static let diffSrcQuery = dnnl_query_diff_src_md
    static let diffDstQuery = dnnl_query_diff_dst_md
    static let diffWeightsQuery = dnnl_query_diff_weights_md
}
