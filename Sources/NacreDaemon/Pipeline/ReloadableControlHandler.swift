/// A ``ControlHandler`` with settings to refresh on a config reload (SIGHUP): the pipeline
/// forwards ``IngestPipeline/apply(_:)`` to its commands handler when it is one.
public protocol ReloadableControlHandler: ControlHandler {
    func apply(_ config: DaemonConfig)
}

extension CollectionCommands: ReloadableControlHandler {}
