import CDNNL

/// A created oneDNN primitive together with its primitive descriptor.
final class DNNLPrimitive: @unchecked Sendable {
    let pd: dnnl_primitive_desc_t
    let primitive: dnnl_primitive_t
    let label: String

    /// Creates the primitive descriptor for `opDesc` and the primitive itself.
    convenience init(label: String, opDesc: UnsafeRawPointer, attr: DNNLAttributes?, context: DNNLContext,
         hint: DNNLPrimitive?) throws {
        var p: dnnl_primitive_desc_t?
        let attributes = try attr ?? DNNLAttributes()
        try dnnlCheck(dnnl_primitive_desc_create(&p, opDesc, attributes.raw, context.engine, hint?.pd),
                      "primitive_desc_create(\(label))")
        try self.init(label: label, pd: p!)
    }

    /// Takes ownership of an already-created primitive descriptor.
    init(label: String, pd: dnnl_primitive_desc_t) throws {
        var prim: dnnl_primitive_t?
        let status = dnnl_primitive_create(&prim, pd)
        if status != dnnl_success { dnnl_primitive_desc_destroy(pd) }
        try dnnlCheck(status, "primitive_create(\(label))")
        self.pd = pd
        self.primitive = prim!
        self.label = label
        scratchpad = DNNLMemoryDesc(raw: dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0)!.pointee)
        scratchpadBytes = scratchpad.byteCount
    }

    /// The scratchpad the primitive needs per execution (0 bytes when none).
    let scratchpad: DNNLMemoryDesc
    let scratchpadBytes: Int

    deinit {
        dnnl_primitive_destroy(primitive)
        dnnl_primitive_desc_destroy(pd)
    }

    /// oneDNN's implementation name, e.g. "jit:avx512_core" or "ref:any".
    var implementationName: String {
        var str: UnsafePointer<CChar>?
        guard dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &str) == dnnl_success, let str else { return "" }
        return String(cString: str)
    }

    /// Whether oneDNN fell back to its slow reference implementation.
    var isReference: Bool { implementationName.hasPrefix("ref") }

    /// The memory descriptor the primitive chose for one of its slots.
    func desc(_ query: dnnl_query_t) -> DNNLMemoryDesc {
        DNNLMemoryDesc(raw: dnnl_primitive_desc_query_md(pd, query, 0)!.pointee)
    }

    /// Runs the primitive synchronously on `context`'s stream.
    func execute(_ context: DNNLContext, _ args: [DNNLArgument]) throws {
        context.applyThreads()
        var mems: [dnnl_memory_t?] = []
        mems.reserveCapacity(args.count)
        defer { for m in mems { dnnl_memory_destroy(m) } }
        var execArgs: [dnnl_exec_arg_t] = []
        execArgs.reserveCapacity(args.count)
        for a in args {
            var m: dnnl_memory_t?
            var md = a.desc.raw
            try dnnlCheck(dnnl_memory_create(&m, &md, context.engine, a.data), "memory_create(\(label))")
            mems.append(m)
            execArgs.append(dnnl_exec_arg_t(arg: a.slot, memory: m))
        }
        var scratch: RawBuffer?
        if scratchpadBytes > 0 {
            let b = RawBuffer(byteCount: scratchpadBytes)
            scratch = b
            var m: dnnl_memory_t?
            var md = scratchpad.raw
            try dnnlCheck(dnnl_memory_create(&m, &md, context.engine, b.pointer), "memory_create(\(label) scratchpad)")
            mems.append(m)
            execArgs.append(dnnl_exec_arg_t(arg: DNNLSlot.scratchpad, memory: m))
        }
        defer { withExtendedLifetime(scratch) {} }
        try dnnlCheck(dnnl_primitive_execute(primitive, context.stream, Int32(execArgs.count), execArgs),
                      "primitive_execute(\(label))")
        try dnnlCheck(dnnl_stream_wait(context.stream), "stream_wait(\(label))")
    }
}
