import Dispatch
import Synchronization

/// A task executor that runs its jobs on the one thread that waits for the task: `cnet`'s main thread.
///
/// On the global concurrent executor, a command's first job waits for libdispatch to start its worker threads:
/// about 1 ms per run on the project's 2-core machines, a quarter of `cnet setup`'s own start-up. Every further
/// thread also makes each first write to one of the binary's data pages a TLB shootdown on the other core. The
/// command's task prefers this executor instead; so do the actors it calls, and continuations resumed from other
/// threads (a plugin's runner, a namespace's thread) enqueue their jobs back here. Work that asks for Dispatch
/// itself (`concurrentPerform`, a blocked file lock) still gets Dispatch's threads.
final class WaitingThreadExecutor: TaskExecutor, @unchecked Sendable {
  private let jobs = Mutex<[UnownedJob]>([])
  /// Signalled once per enqueued job, so every wait is matched by one job to run.
  private let available = DispatchSemaphore(value: 0)
  private let finished = Atomic<Bool>(false)

  func enqueue(_ job: consuming ExecutorJob) {
    let job = UnownedJob(job)
    jobs.withLock { $0.append(job) }
    available.signal()
  }

  /// Runs `body` as a task on this executor, on the calling thread, and returns once it has finished.
  static func run(_ body: sending @escaping () async -> Void) {
    let executor = WaitingThreadExecutor()
    Task.detached(executorPreference: executor) {
      await body()
      executor.finished.store(true, ordering: .releasing)
    }
    while !executor.finished.load(ordering: .acquiring) {
      executor.available.wait()
      let job = executor.jobs.withLock { $0.removeFirst() }
      job.runSynchronously(on: executor.asUnownedTaskExecutor())
    }
  }
}
