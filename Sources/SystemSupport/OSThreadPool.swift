import CNetShim

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#endif

/// OS threads that are kept for the next piece of blocking work instead of exiting.
///
/// Starting a thread costs 0.2–0.3 ms on the project's 2-core machines (its stack is mapped, and freeing it later
/// means a TLB shootdown on every core that ran the process), and a setup or teardown runs one plugin after another,
/// each on a thread of its own. The pool hands each job to an idle thread if there is one and starts a thread
/// otherwise, so jobs never wait for each other. A thread that has been idle for ``idleLifetime`` exits.
///
/// Jobs must leave their thread as they found it: work that changes per-thread state (entering a namespace) takes a
/// thread of its own (``OSThread/runOnNewThread(_:)``).
public final class OSThreadPool: @unchecked Sendable {
  /// The pool the plugin runner uses.
  public static let shared = OSThreadPool()

  /// Seconds an idle thread waits for work before it exits.
  public let idleLifetime: Int

  private let mutex: UnsafeMutablePointer<pthread_mutex_t>
  private let workAvailable: UnsafeMutablePointer<pthread_cond_t>
  // Guarded by `mutex`.
  private var jobs: [@Sendable () -> Void] = []
  private var idleThreads = 0
  /// Threads created that have not yet looked for a job.
  private var startingThreads = 0
  private var liveThreads = 0

  public init(idleLifetime: Int = 10) {
    self.idleLifetime = idleLifetime
    mutex = .allocate(capacity: 1)
    pthread_mutex_init(mutex, nil)
    workAvailable = .allocate(capacity: 1)
    // Timed waits on the monotonic clock, so that setting the wall clock neither wakes nor strands idle threads.
    var attributes = pthread_condattr_t()
    pthread_condattr_init(&attributes)
    pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
    pthread_cond_init(workAvailable, &attributes)
    pthread_condattr_destroy(&attributes)
  }

  deinit {
    // Only a pool no thread refers to any more is deinitialized: each thread holds a strong reference.
    pthread_cond_destroy(workAvailable)
    workAvailable.deallocate()
    pthread_mutex_destroy(mutex)
    mutex.deallocate()
  }

  /// Threads that exist now, busy or idle.
  public var threadCount: Int {
    pthread_mutex_lock(mutex)
    defer { pthread_mutex_unlock(mutex) }
    return liveThreads
  }

  /// Threads waiting for work now.
  public var idleThreadCount: Int {
    pthread_mutex_lock(mutex)
    defer { pthread_mutex_unlock(mutex) }
    return idleThreads
  }

  /// Runs `work` on an idle thread of the pool, or on a new one when every thread is busy.
  public func run(_ work: @escaping @Sendable () -> Void) throws {
    pthread_mutex_lock(mutex)
    defer { pthread_mutex_unlock(mutex) }
    // Each idle or starting thread takes one job; a job beyond their number needs a thread of its own. The thread
    // is started with the lock held, so that no other thread sees a job that nobody will take.
    if jobs.count + 1 > idleThreads + startingThreads {
      try startThread()
    }
    jobs.append(work)
    pthread_cond_signal(workAvailable)
  }

  /// Starts threads until `count` are idle or starting beyond the queued jobs, without waiting for them.
  ///
  /// A caller that knows blocking work is coming calls this first and prepares the work meanwhile: a thread's start
  /// (0.3 ms here, mostly waking the other core) then overlaps that preparation instead of delaying the first job.
  /// A thread that cannot be started is left to the next job to start (or to fail on).
  public func prestart(_ count: Int = 1) {
    pthread_mutex_lock(mutex)
    defer { pthread_mutex_unlock(mutex) }
    while idleThreads + startingThreads - jobs.count < count {
      do { try startThread() } catch { return }
    }
  }

  /// Starts one thread that will serve the queue; the caller holds the lock.
  private func startThread() throws {
    try OSThread.start { self.serve() }
    liveThreads += 1
    startingThreads += 1
  }

  private func serve() {
    pthread_mutex_lock(mutex)
    startingThreads -= 1
    while true {
      if !jobs.isEmpty {
        let job = jobs.removeFirst()
        pthread_mutex_unlock(mutex)
        job()
        pthread_mutex_lock(mutex)
        continue
      }
      var deadline = timespec()
      clock_gettime(CLOCK_MONOTONIC, &deadline)
      deadline.tv_sec += idleLifetime
      idleThreads += 1
      var status: Int32 = 0
      while jobs.isEmpty && status != ETIMEDOUT {
        status = pthread_cond_timedwait(workAvailable, mutex, &deadline)
      }
      idleThreads -= 1
      if jobs.isEmpty {
        liveThreads -= 1
        pthread_mutex_unlock(mutex)
        return
      }
    }
  }
}
