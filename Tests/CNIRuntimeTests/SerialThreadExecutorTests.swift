import Dispatch
import Synchronization
import SystemSupport
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// The executor `cnet` runs its commands on: one thread runs every job, including those that continuations resumed
/// from other threads and actor calls bring back.
@Suite struct SerialThreadExecutorTests {
  actor Counter {
    var value = 0
    func increment() -> (Int, pthread_t) {
      value += 1
      return (value, pthread_self())
    }
  }

  @Test func runsEveryJobOnTheWaitingThread() throws {
    let caller = pthread_self()
    let observed = Mutex<[pthread_t]>([])
    let counter = Counter()
    SerialThreadExecutor.runOnCallingThread {
      observed.withLock { $0.append(pthread_self()) }
      for _ in 0..<20 {
        let fromElsewhere: pthread_t = await withCheckedContinuation { continuation in
          var thread = pthread_t()
          let box = Unmanaged.passRetained(ContinuationBox(continuation))
          pthread_create(
            &thread, nil,
            { raw in
              let box = Unmanaged<ContinuationBox>.fromOpaque(raw!).takeRetainedValue()
              box.continuation.resume(returning: pthread_self())
              return nil
            }, box.toOpaque())
          pthread_detach(thread)
        }
        let (_, actorThread) = await counter.increment()
        observed.withLock { $0 += [pthread_self(), actorThread] }
        #expect(pthread_equal(fromElsewhere, caller) == 0, "the continuation was resumed on another thread")
      }
    }
    let threads = observed.withLock { $0 }
    #expect(threads.count == 41)
    #expect(threads.allSatisfy { pthread_equal($0, caller) != 0 })
  }

  /// With a thread of its own, the task's jobs run there, not on the caller's, and cancelling the caller reaches them.
  @Test func ownThreadRunsTheJobsAndSeesCancellation() async throws {
    let caller = pthread_self()
    let threads = try await SerialThreadExecutor.withOwnThread { () -> [pthread_t] in
      let first = pthread_self()
      await Task.yield()
      return [first, pthread_self()]
    }
    #expect(threads.count == 2 && pthread_equal(threads[0], threads[1]) != 0)
    #expect(pthread_equal(threads[0], caller) == 0)
    let task = Task {
      try await SerialThreadExecutor.withOwnThread {
        try await Task.sleep(for: .seconds(60))
      }
    }
    task.cancel()
    await #expect(throws: CancellationError.self) { try await task.value }
  }

  final class ContinuationBox: @unchecked Sendable {
    let continuation: CheckedContinuation<pthread_t, Never>
    init(_ continuation: CheckedContinuation<pthread_t, Never>) { self.continuation = continuation }
  }
}
