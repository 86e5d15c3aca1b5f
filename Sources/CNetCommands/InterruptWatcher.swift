import Synchronization
import SystemSupport

#if canImport(Glibc)
  import Glibc
#endif

/// Turns SIGINT, SIGTERM and SIGHUP into the cancellation of one command's task, for `setup` and `teardown`.
///
/// Left to their default action, these signals ended `cnet` at once while its plugin, in a process group of its own,
/// went on to finish an ADD that nobody cached or undid. Cancelled instead, a setup kills the running plugin's group
/// and rolls back what it attached, and a teardown, whose DEL calls cancellation does not stop, finishes first (as
/// netavark does since 1.15). The signals are blocked on every thread and taken by `sigwait` on a thread of our own,
/// since a handler may not call into the Swift runtime.
final class InterruptWatcher: Sendable {
  static let signals: [Int32] = [SIGINT, SIGTERM, SIGHUP]

  private let first = Mutex<Int32?>(nil)

  /// Blocks the signals on the calling thread, before any other thread starts, so that all inherit the mask.
  /// (Plugins start with an empty mask: the spawn resets it in the child.)
  init() {
    var set = Self.signalSet()
    pthread_sigmask(SIG_BLOCK, &set, nil)
  }

  /// The first signal that arrived, if any.
  var received: Int32? { first.withLock { $0 } }

  /// Cancels `task` on the first signal; later ones only repeat the request.
  func cancelOnSignal(_ task: Task<Void, Never>) {
    do {
      try OSThread.start { [self] in
        var set = Self.signalSet()
        while true {
          var number: Int32 = 0
          guard sigwait(&set, &number) == 0 else { continue }
          first.withLock { $0 = $0 ?? number }
          task.cancel()
        }
      }
    } catch {
      // Without the thread the signals stay blocked until exit: the command ends normally, never half-way.
      writeStandardError("Error: cannot watch for signals: \(error)\n")
    }
  }

  private static func signalSet() -> sigset_t {
    var set = sigset_t()
    sigemptyset(&set)
    for number in signals { sigaddset(&set, number) }
    return set
  }
}
