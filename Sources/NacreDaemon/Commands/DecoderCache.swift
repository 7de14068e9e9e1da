import Logging
import NacreCodec
import NacreEngine

/// The decoders one worker thread has loaded, keyed by catalog model id, least recently used
/// evicted beyond `capacity`. Archives carry their own decoder, so a restore from an old archive
/// loads that archive's model once; later restores with the same model reuse it.
///
/// Not thread-safe: owned by one ``DecodeWorkers`` thread (an ``Engine`` is used from one thread
/// at a time).
final class DecoderCache {
    private let engineThreads: Int
    private let capacity: Int
    private let logger: Logger
    private var engine: Engine?
    /// Most recently used last.
    private var entries: [(modelID: String, codec: CodecModel)] = []

    init(engineThreads: Int, capacity: Int, logger: Logger) {
        self.engineThreads = engineThreads
        self.capacity = max(1, capacity)
        self.logger = logger
    }

    /// Models currently loaded, least recently used first.
    var loadedModelIDs: [String] { entries.map(\.modelID) }

    /// The decoder for `modelID`, loading it from `modelBytes()` (the archive's model frame)
    /// when it is not cached.
    func decoder(for modelID: String, modelBytes: () throws -> [UInt8]) throws -> CodecModel {
        if let index = entries.firstIndex(where: { $0.modelID == modelID }) {
            let entry = entries.remove(at: index)
            entries.append(entry)
            return entry.codec
        }
        let engine = try self.engine ?? Engine(threads: engineThreads, logger: logger)
        self.engine = engine
        let codec = try CodecModel.load(try modelBytes(), engine: engine)
        if entries.count >= capacity {
            let evicted = entries.removeFirst()
            logger.debug("decoder evicted from the cache", metadata: ["model": "\(evicted.modelID)"])
        }
        entries.append((modelID, codec))
        logger.debug("decoder loaded", metadata: ["model": "\(modelID)", "identifier": "\(codec.identifierString)"])
        return codec
    }
}
