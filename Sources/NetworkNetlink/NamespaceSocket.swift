import CNetShim
import Synchronization
import SystemSupport

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#endif

extension LinuxNetlinkSocket {
  /// A socket of the network namespace at `namespacePath`, opened on an OS thread of our own that enters the
  /// namespace (``NamespaceSocketOpener``), because a socket stays bound to the namespace it was made in. No
  /// Swift-concurrency thread, and not the caller's thread, ever changes namespace.
  public convenience init(namespacePath: String, protocol family: Int32 = 0) throws(NetlinkError) {
    let namespaceFD = open(namespacePath, O_RDONLY | O_CLOEXEC)
    guard namespaceFD >= 0 else { throw NetlinkError(operation: "open \(namespacePath)", errno: errno) }
    defer { close(namespaceFD) }
    let made =
      NamespaceSocketOpener.shared.open(namespaceFD: namespaceFD, protocol: family, path: namespacePath)
      ?? Self.openOnNewThread(namespaceFD: namespaceFD, protocol: family, path: namespacePath)
    self.init(descriptor: try made.get())
  }

  /// The way without the kept thread: a thread that enters the namespace, opens the socket and ends.
  static func openOnNewThread(namespaceFD: Int32, protocol family: Int32, path: String) -> Result<Int32, NetlinkError> {
    do {
      return try OSThread.runOnNewThread { NamespaceSocketOpener.enterAndOpen(namespaceFD, family, path) }
    } catch {
      return .failure(
        NetlinkError(operation: "start a thread for \(path)", errno: (error as? SystemCallError)?.errno ?? EAGAIN))
    }
  }
}

/// One OS thread, started on first use and kept, that opens sockets inside other network namespaces: it enters the
/// namespace, opens the socket, and returns to the namespace it started in before it takes the next request. A new
/// thread per socket cost its start and end on every container setup (≈ 30–60 µs on this machine's 2 cores).
///
/// A thread that cannot return to its namespace is never used again (it ends, and later sockets get a thread each),
/// so a request never starts from a namespace other than the one the thread was started in.
final class NamespaceSocketOpener: @unchecked Sendable {
  static let shared = NamespaceSocketOpener()

  private enum State {
    case notStarted
    case running
    case unusable
  }

  /// One request at a time; the fields below are guarded by `mutex` and signalled through `condition`.
  private let serial = Mutex(())
  private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
  private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
  private var state = State.notStarted
  private var request: (namespaceFD: Int32, family: Int32, path: String)?
  private var result: Result<Int32, NetlinkError>?

  private init() {
    pthread_mutex_init(mutex, nil)
    pthread_cond_init(condition, nil)
  }

  /// The socket, or its failure; nil when the kept thread cannot serve (the caller then uses a thread of its own).
  func open(namespaceFD: Int32, protocol family: Int32, path: String) -> Result<Int32, NetlinkError>? {
    serial.withLock { _ in
      pthread_mutex_lock(mutex)
      defer { pthread_mutex_unlock(mutex) }
      if state == .notStarted {
        state = .running
        do {
          try OSThread.start { [self] in serve() }
        } catch {
          state = .unusable
        }
      }
      guard state == .running else { return nil }
      request = (namespaceFD, family, path)
      result = nil
      pthread_cond_broadcast(condition)
      while result == nil && state == .running { pthread_cond_wait(condition, mutex) }
      defer { result = nil }
      return result
    }
  }

  private func serve() {
    let home = Glibc.open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC)
    pthread_mutex_lock(mutex)
    defer { pthread_mutex_unlock(mutex) }
    guard home >= 0 else {
      state = .unusable
      pthread_cond_broadcast(condition)
      return
    }
    defer { close(home) }
    while true {
      while request == nil { pthread_cond_wait(condition, mutex) }
      let (namespaceFD, family, path) = request!
      request = nil
      pthread_mutex_unlock(mutex)
      let made = Self.enterAndOpen(namespaceFD, family, path)
      let back = cnet_setns(home, cnet_clone_newnet()) == 0
      pthread_mutex_lock(mutex)
      result = made
      if !back { state = .unusable }
      pthread_cond_broadcast(condition)
      if !back { return }
    }
  }

  /// On a thread of our own: enters the namespace behind `namespaceFD` and opens the socket there.
  static func enterAndOpen(_ namespaceFD: Int32, _ family: Int32, _ path: String) -> Result<Int32, NetlinkError> {
    guard cnet_setns(namespaceFD, cnet_clone_newnet()) == 0 else {
      return .failure(NetlinkError(operation: "setns \(path)", errno: errno))
    }
    return Result { () throws(NetlinkError) in try LinuxNetlinkSocket.openDescriptor(protocol: family) }
  }
}
