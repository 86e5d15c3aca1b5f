import Dispatch
import Synchronization

/// A task executor that runs its jobs, in order, on one OS thread: the thread that waits for the task
/// (``runOnCallingThread(_:)``, `cnet`'s main thread) or one of its own (``withOwnThread(_:)``, for tests).
///
/// On the global concurrent executor, `cnet`'s first job waited for libdispatch to start its worker threads:
/// about 1 ms per run on the project's 2-core machines, a quarter of `cnet setup`'s own start-up, and every further
/// thread made each first write to one of the binary's data pages a TLB shootdown on the other core. A task that
/// prefers this executor runs here, and so do the actors it calls; continuations resumed from other threads (a
/// plugin's runner, a namespace's thread) enqueue their jobs back here. Work that asks for Dispatch itself
/// (`concurrentPerform`, a blocked file lock) still gets Dispatch's threads. Since the thread belongs to the task
/// alone, its plugin runs may block it (`PluginWaiting.callingThread` in CNIRuntime).
public final class SerialThreadExecutor: TaskExecutor, @unchecked Sendable {
  private let jobs = Mutex<[UnownedJob]>([])
  /// Signalled once per enqueued job, and once more when the thread is to stop.
  private let available = DispatchSemaphore(value: 0)
  private let stopping = Atomic<Bool>(false)

  private init() {}

  public func enqueue(_ job: consuming ExecutorJob) {
    let job = UnownedJob(job)
    jobs.withLock { $0.append(job) }
    available.signal()
  }

  /// Runs jobs on the calling thread until ``stop()`` was called and no job is left.
  private func serve() {
    while true {
      available.wait()
      if let job = jobs.withLock({ $0.isEmpty ? nil : $0.removeFirst() }) {
        job.runSynchronously(on: asUnownedTaskExecutor())
      } else if stopping.load(ordering: .acquiring) {
        return
      }
    }
  }

  private func stop() {
    stopping.store(true, ordering: .releasing)
    available.signal()
  }

  /// Runs `body` as a task on the calling thread and returns once it has finished; `started` receives the task
  /// before its first job runs (to cancel it from elsewhere).
  public static func runOnCallingThread(
    _ body: sending @escaping () async -> Void, started: (Task<Void, Never>) -> Void = { _ in }
  ) {
    let executor = SerialThreadExecutor()
    let task = Task.detached(executorPreference: executor) {
      await body()
      // The last job: `serve` finds the stop after this one has returned.
      executor.stop()
    }
    started(task)
    executor.serve()
  }

  /// Runs `body` as a task on a new thread of its own from its first instruction on, and returns its result;
  /// cancelling the calling task cancels it. The thread ends afterwards.
  public static func withOwnThread<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) async throws -> T {
    let executor = SerialThreadExecutor()
    try OSThread.start { executor.serve() }
    defer { executor.stop() }
    // A child task would start where its parent runs; a task of its own starts on the executor.
    let task = Task(executorPreference: executor) { try await body() }
    return try await withTaskCancellationHandler {
      try await task.value
    } onCancel: {
      task.cancel()
    }
  }
}
