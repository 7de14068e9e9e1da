/// One argument of a primitive execution: which slot, its descriptor, and the buffer.
struct DNNLArgument {
    let slot: Int32
    let desc: DNNLMemoryDesc
    let data: UnsafeMutableRawPointer
}
