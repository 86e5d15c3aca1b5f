import CNetShim
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
    let opening = try NamespaceSocketOpening(namespacePath: namespacePath, protocol: family)
    self.init(descriptor: try opening.takeDescriptor())
  }
}

/// A socket of another network namespace, being opened on the namespace thread (``NamespaceSocketOpener``) while the
/// caller goes on: a container setup starts it before its lock and address allocation, and takes the socket after
/// them, so that the thread's wake-up and the `setns` there and back cost it nothing.
///
/// It keeps the namespace open (``namespaceDescriptor``, for a link's `IFLA_NET_NS_FD`) until it is released. A
/// socket that was never taken is closed then: it would hold the namespace alive.
public final class NamespaceSocketOpening: @unchecked Sendable {
  /// The namespace, open for as long as this lives.
  public let namespaceDescriptor: Int32
  let family: Int32
  let path: String

  // `outcome` and `taken` are guarded by `mutex`; `condition` signals the outcome. Allocated once the namespace is
  // open, so that a failed open leaves nothing behind.
  private let mutex: UnsafeMutablePointer<pthread_mutex_t>
  private let condition: UnsafeMutablePointer<pthread_cond_t>
  private var outcome: Result<Int32, NetlinkError>?
  private var taken = false

  /// Opens the namespace at `namespacePath` and starts making the socket there.
  public init(namespacePath: String, protocol family: Int32 = 0) throws(NetlinkError) {
    let descriptor = open(namespacePath, O_RDONLY | O_CLOEXEC)
    guard descriptor >= 0 else { throw NetlinkError(operation: "open \(namespacePath)", errno: errno) }
    namespaceDescriptor = descriptor
    self.family = family
    path = namespacePath
    mutex = .allocate(capacity: 1)
    condition = .allocate(capacity: 1)
    pthread_mutex_init(mutex, nil)
    pthread_cond_init(condition, nil)
    if !NamespaceSocketOpener.shared.enqueue(self) { complete(with: nil) }
  }

  /// Waits for the socket and hands it over; it is the caller's to close from then on. Once only.
  public func takeDescriptor() throws(NetlinkError) -> Int32 {
    pthread_mutex_lock(mutex)
    defer { pthread_mutex_unlock(mutex) }
    while outcome == nil { pthread_cond_wait(condition, mutex) }
    precondition(!taken, "the socket of \(path) was taken twice")
    taken = true
    return try outcome!.get()
  }

  /// Waits for the socket, as a ``RouteNetlink`` of its own.
  public func routeNetlink() throws(NetlinkError) -> RouteNetlink {
    RouteNetlink(socket: LinuxNetlinkSocket(descriptor: try takeDescriptor()))
  }

  /// The namespace thread's answer; nil when it could not serve, so that a thread of this request's own makes it.
  func complete(with made: Result<Int32, NetlinkError>?) {
    let result = made ?? Self.openOnNewThread(namespaceFD: namespaceDescriptor, protocol: family, path: path)
    pthread_mutex_lock(mutex)
    outcome = result
    pthread_cond_broadcast(condition)
    pthread_mutex_unlock(mutex)
  }

  // The opener holds its requests until it has completed them, so this runs only after the outcome is known.
  deinit {
    if !taken, case .success(let descriptor)? = outcome { close(descriptor) }
    close(namespaceDescriptor)
    pthread_cond_destroy(condition)
    pthread_mutex_destroy(mutex)
    condition.deallocate()
    mutex.deallocate()
  }

  /// The way without the kept thread: a thread that enters the namespace, opens the socket and ends.
  private static func openOnNewThread(namespaceFD: Int32, protocol family: Int32, path: String) -> Result<
    Int32, NetlinkError
  > {
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
/// A thread that cannot return to its namespace is never used again (it ends, and later requests get a thread
/// each), so a request never starts from a namespace other than the one the thread was started in.
final class NamespaceSocketOpener: @unchecked Sendable {
  static let shared = NamespaceSocketOpener()

  private enum State {
    case notStarted
    case running
    case unusable
  }

  // The fields below are guarded by `mutex`; `condition` signals a new request.
  private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
  private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
  private var state = State.notStarted
  private var queue: [NamespaceSocketOpening] = []

  private init() {
    pthread_mutex_init(mutex, nil)
    pthread_cond_init(condition, nil)
  }

  /// Queues the request for the kept thread; false when that thread cannot serve.
  func enqueue(_ request: NamespaceSocketOpening) -> Bool {
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
    guard state == .running else { return false }
    queue.append(request)
    pthread_cond_signal(condition)
    return true
  }

  private func serve() {
    let home = Glibc.open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC)
    pthread_mutex_lock(mutex)
    guard home >= 0 else { return retire() }
    defer { close(home) }
    while true {
      while queue.isEmpty { pthread_cond_wait(condition, mutex) }
      let request = queue.removeFirst()
      pthread_mutex_unlock(mutex)
      let made = Self.enterAndOpen(request.namespaceDescriptor, request.family, request.path)
      let back = cnet_setns(home, cnet_clone_newnet()) == 0
      request.complete(with: made)
      pthread_mutex_lock(mutex)
      if !back { return retire() }
    }
  }

  /// Called with `mutex` held: no more requests are taken, and those waiting get threads of their own.
  private func retire() {
    state = .unusable
    let waiting = queue
    queue = []
    pthread_mutex_unlock(mutex)
    for request in waiting { request.complete(with: nil) }
  }

  /// On a thread of our own: enters the namespace behind `namespaceFD` and opens the socket there.
  static func enterAndOpen(_ namespaceFD: Int32, _ family: Int32, _ path: String) -> Result<Int32, NetlinkError> {
    guard cnet_setns(namespaceFD, cnet_clone_newnet()) == 0 else {
      return .failure(NetlinkError(operation: "setns \(path)", errno: errno))
    }
    return Result { () throws(NetlinkError) in try LinuxNetlinkSocket.openDescriptor(protocol: family) }
  }
}
