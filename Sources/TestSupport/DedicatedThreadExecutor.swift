import Dispatch
import Foundation
import Synchronization

/// A task executor with an OS thread of its own, for tests of code that may block the thread its task runs on (as
/// `cnet` lets plugin runs block its main thread), so that they never block Swift's shared pool.
public final class DedicatedThreadExecutor: TaskExecutor, @unchecked Sendable {
  private let jobs = Mutex<[UnownedJob]>([])
  /// Signalled once per enqueued job, and once more to stop the thread.
  private let available = DispatchSemaphore(value: 0)
  private let stopped = Atomic<Bool>(false)

  private init() {
    let thread = Thread { [self] in
      while true {
        available.wait()
        guard let job = jobs.withLock({ $0.isEmpty ? nil : $0.removeFirst() }) else {
          if stopped.load(ordering: .acquiring) { return }
          continue
        }
        job.runSynchronously(on: asUnownedTaskExecutor())
      }
    }
    thread.start()
  }

  public func enqueue(_ job: consuming ExecutorJob) {
    let job = UnownedJob(job)
    jobs.withLock { $0.append(job) }
    available.signal()
  }

  /// Runs `body` on a new executor of this kind, in the calling task (so that cancelling it reaches `body`), and
  /// returns its result; the thread ends afterwards.
  public static func run<T: Sendable>(_ body: @Sendable () async throws -> T) async throws -> T {
    let executor = DedicatedThreadExecutor()
    defer {
      executor.stopped.store(true, ordering: .releasing)
      executor.available.signal()
    }
    return try await withTaskExecutorPreference(executor) { try await body() }
  }
}
