import CNetShim

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#endif

/// Work on OS threads of our own, outside the Swift-concurrency pool: for anything that blocks (poll on a child's
/// pipes) or changes per-thread state (entering a namespace), which must never happen on a pool thread.
///
/// The package's ways to run work off Swift's shared executors, one per job:
/// - ``OSThread``: one-off work that blocks or changes per-thread state (entering a namespace, waitpid, waiting
///   for a contended lock, sigwait); the thread exits afterwards.
/// - ``OSThreadPool``: blocking work that comes often and in sequence (a plugin run), where starting a thread each
///   time costs more than the work around it.
/// - ``SerialThreadExecutor``: a whole task on one thread that belongs to it (`cnet`'s command on its main thread;
///   tests that let plugin runs block their own thread).
/// - Dispatch's `concurrentPerform`: CPU-bound work split over the cores (decoding a large config directory or
///   network index), where a measured gain is worth a thread per core (BENCHMARKS.md).
///
/// Plain pthreads, so that the command-line tool does not need Foundation's `Thread`.
public enum OSThread {
  /// Runs `work` on a new joinable OS thread and waits for it.
  public static func runOnNewThread<T>(_ work: @escaping () throws -> T) throws -> T {
    let box = ThreadBox(work: { Result(catching: work) })
    let thread = try spawn(box, detached: false)
    pthread_join(thread, nil)
    return try (box.result as! Result<T, any Error>).get()
  }

  /// Starts `work` on a new detached OS thread.
  public static func start(_ work: @escaping @Sendable () -> Void) throws {
    _ = try spawn(ThreadBox(work: { work() }), detached: true)
  }

  private static func spawn(_ box: ThreadBox, detached: Bool) throws -> pthread_t {
    var thread = pthread_t()
    var attributes = pthread_attr_t()
    pthread_attr_init(&attributes)
    defer { pthread_attr_destroy(&attributes) }
    if detached { pthread_attr_setdetachstate(&attributes, Int32(PTHREAD_CREATE_DETACHED)) }
    let unmanaged = Unmanaged.passRetained(box)
    let status = pthread_create(
      &thread, &attributes,
      { raw in
        Unmanaged<ThreadBox>.fromOpaque(raw!).takeRetainedValue().run()
        return nil
      }, unmanaged.toOpaque())
    guard status == 0 else {
      unmanaged.release()
      throw SystemCallError(call: "pthread_create", errno: status)
    }
    return thread
  }
}

/// Carries a closure to a new thread and its result back; only one thread touches it at a time (create, then join).
private final class ThreadBox: @unchecked Sendable {
  let work: () -> Any
  var result: Any?
  init(work: @escaping () -> Any) { self.work = work }
  func run() { result = work() }
}
