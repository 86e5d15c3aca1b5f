import Dispatch
import Synchronization
import SystemSupport
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// The threads plugin runs block on: kept for the next run, never making a run wait for another.
@Suite struct OSThreadPoolTests {
  /// Polls `condition` for up to 10 s.
  func eventually(_ condition: () -> Bool) -> Bool {
    for _ in 0..<1000 {
      if condition() { return true }
      usleep(10_000)
    }
    return condition()
  }

  @Test func reusesAnIdleThread() throws {
    let pool = OSThreadPool(idleLifetime: 60)
    let threads = Mutex<[pthread_t]>([])
    for _ in 0..<5 {
      let done = DispatchSemaphore(value: 0)
      try pool.run {
        threads.withLock { $0.append(pthread_self()) }
        done.signal()
      }
      done.wait()
      #expect(eventually { pool.idleThreadCount == 1 })
    }
    let seen = threads.withLock { $0 }
    #expect(seen.count == 5)
    #expect(seen.allSatisfy { pthread_equal($0, seen[0]) != 0 })
    #expect(pool.threadCount == 1)
  }

  /// Four jobs that each wait until all four have started can only finish with a thread each.
  @Test func busyThreadsNeverMakeAJobWait() throws {
    let pool = OSThreadPool(idleLifetime: 60)
    let started = Atomic<Int>(0)
    let finished = DispatchSemaphore(value: 0)
    for _ in 0..<4 {
      try pool.run {
        started.add(1, ordering: .relaxed)
        for _ in 0..<1000 where started.load(ordering: .relaxed) < 4 { usleep(10_000) }
        finished.signal()
      }
    }
    for _ in 0..<4 { #expect(finished.wait(timeout: .now() + 20) == .success) }
    #expect(started.load(ordering: .relaxed) == 4)
    #expect(pool.threadCount == 4)
    #expect(eventually { pool.idleThreadCount == 4 })
  }

  @Test func idleThreadsExit() throws {
    let pool = OSThreadPool(idleLifetime: 1)
    let done = DispatchSemaphore(value: 0)
    try pool.run { done.signal() }
    done.wait()
    #expect(pool.threadCount == 1)
    #expect(eventually { pool.threadCount == 0 })
    // A pool whose threads are gone starts a new one for the next job.
    try pool.run { done.signal() }
    #expect(done.wait(timeout: .now() + 10) == .success)
  }

  /// A prestarted thread takes the next job; a second prestart with one already waiting starts nothing.
  @Test func prestartedThreadTakesTheNextJob() throws {
    let pool = OSThreadPool(idleLifetime: 60)
    pool.prestart()
    pool.prestart()
    #expect(pool.threadCount == 1)
    #expect(eventually { pool.idleThreadCount == 1 })
    let done = DispatchSemaphore(value: 0)
    try pool.run { done.signal() }
    #expect(done.wait(timeout: .now() + 10) == .success)
    #expect(pool.threadCount == 1)
    #expect(eventually { pool.idleThreadCount == 1 })
    pool.prestart(3)
    #expect(pool.threadCount == 3)
  }
}
