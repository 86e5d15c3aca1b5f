/// Finds and runs CNI plugins for ``CNIConfig``: the seam libcni calls `invoke.Exec`.
///
/// ``PluginExecutor`` runs the real binaries; a test gives a fake that answers in process, so that chain, cache and
/// rollback behaviour is testable without root or plugins.
public protocol PluginExecuting: Sendable {
  /// The path of the plugin binary for `type`; throws ``CNIError/Kind/pluginNotFound`` when there is none.
  func findPlugin(_ type: String) throws(CNIError) -> String

  /// Runs the plugin `type` with `invocation`'s environment and `stdin`, and returns its stdout when it succeeded.
  ///
  /// Cancelling the calling task stops any command but DEL and GC, which are cleanup and run to their end.
  func execute(_ type: String, invocation: PluginInvocation, stdin: [UInt8]) async throws(CNIError) -> [UInt8]

  /// Which spec versions the plugin `type` supports (the VERSION command).
  func versionInfo(_ type: String) async throws(CNIError) -> PluginVersionInfo

  /// Called when runs are about to follow, so that whatever they need (a thread) can start meanwhile.
  func warmUp()
}

extension PluginExecuting {
  public func warmUp() {}
}

/// Where a plugin run waits for its plugin to exit.
public enum PluginWaiting: Sendable, Hashable {
  /// On a pooled OS thread (``OSThreadPool``), while the calling task is suspended: right for any caller on Swift's
  /// shared executors, whose few threads must never block.
  case pooledThread
  /// On the calling thread, which blocks: two thread wake-ups fewer per plugin (0.1–0.3 ms here). Only for a task
  /// that runs on a thread of its own which nothing else needs meanwhile, as `cnet` runs each command on its main
  /// thread (``SerialThreadExecutor``).
  case callingThread
}
