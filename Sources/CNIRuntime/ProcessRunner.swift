import CNetShim
import Dispatch
import FoundationEssentials
import Synchronization
import SystemSupport

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#endif

/// Everything a finished child left behind.
package struct ProcessOutput: Sendable {
  package var stdout: [UInt8]
  package var stderr: [UInt8]
  package var stdoutTruncated: Bool
  package var stderrTruncated: Bool
  package var termination: ProcessTermination
}

/// Why a spawn did not produce a running child.
package struct SpawnFailure: Error, Sendable {
  package enum Step: Sendable { case fork, setpgid, setns, dup2, exec, openNamespace, pipes }
  package var step: Step
  package var errno: Int32
}

/// Why a run ended early.
package enum RunInterruption: Error, Sendable {
  case timedOut(ProcessOutput)
  case cancelled(ProcessOutput)
}

/// What to run and how.
package struct ProcessRequest: Sendable {
  package var path: String
  package var arguments: [String]
  package var environment: [String]
  package var stdin: [UInt8]
  package var namespacePath: String?
  package var timeout: Duration
  package var maximumOutputBytes: Int
  /// How long to keep reading after the child exited, for output still in flight; a grandchild that keeps the
  /// pipes open must not hold us any longer than this.
  package var drainGrace: Duration = .milliseconds(250)
  /// Attempts for an exec that fails with ETXTBSY (a plugin binary that another process is still writing, or whose
  /// write descriptor a concurrently forked child briefly inherited): 8 attempts wait up to 0.72 s in all.
  package var textBusyAttempts = 8
  /// Whether the calling thread waits, or a pooled one.
  package var waiting: PluginWaiting = .pooledThread
  /// Whether cancelling the calling task kills the child. Cleanup (DEL, GC) is not: it runs to its end or its
  /// timeout, so that whoever cancels never leaves half an attachment behind.
  package var cancellable = true

  package init(
    path: String, arguments: [String], environment: [String], stdin: [UInt8], namespacePath: String?,
    timeout: Duration, maximumOutputBytes: Int
  ) {
    self.path = path
    self.arguments = arguments
    self.environment = environment
    self.stdin = stdin
    self.namespacePath = namespacePath
    self.timeout = timeout
    self.maximumOutputBytes = maximumOutputBytes
  }
}

/// Lets a cancellation handler on any thread stop a run that is blocked in poll on its own thread.
final class RunControl: Sendable {
  private let isCancelled = Mutex(false)
  private let wakeRead: Int32
  private let wakeWrite: Int32

  init() {
    var fds: [Int32] = [-1, -1]
    if cnet_pipe_cloexec(&fds) == 0 {
      _ = cnet_set_nonblocking(fds[0])
      _ = cnet_set_nonblocking(fds[1])
    }
    wakeRead = fds[0]
    wakeWrite = fds[1]
  }

  deinit {
    if wakeRead >= 0 { close(wakeRead) }
    if wakeWrite >= 0 { close(wakeWrite) }
  }

  var wakeDescriptor: Int32 { wakeRead }

  var cancelled: Bool { isCancelled.withLock { $0 } }

  func cancel() {
    isCancelled.withLock { $0 = true }
    var byte: UInt8 = 1
    _ = write(wakeWrite, &byte, 1)
  }
}

/// Runs child processes for the plugin executor: spawn through the C shim, feed stdin, capture stdout and stderr
/// concurrently, enforce the timeout, reap.
///
/// Each run blocks an OS thread of ``OSThreadPool/shared`` in poll(2), never a Swift-concurrency thread, unless the
/// request says the calling thread may block (``PluginWaiting/callingThread``).
package enum ProcessRunner {
  package static func run(_ request: ProcessRequest) async throws -> ProcessOutput {
    let control = RunControl()
    guard request.cancellable else { return try await wait(for: request, control: control) }
    return try await withTaskCancellationHandler {
      try await wait(for: request, control: control)
    } onCancel: {
      control.cancel()
    }
  }

  /// Runs the child on the calling thread when it may block, else on a pooled thread the task waits for.
  private static func wait(for request: ProcessRequest, control: RunControl) async throws -> ProcessOutput {
    if request.waiting == .callingThread { return try runBlocking(request, control: control) }
    return try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<ProcessOutput, any Error>) in
      do {
        try OSThreadPool.shared.run {
          continuation.resume(with: Result { try runBlocking(request, control: control) })
        }
      } catch {
        continuation.resume(throwing: error)
      }
    }
  }

  static func runBlocking(_ request: ProcessRequest, control: RunControl) throws -> ProcessOutput {
    if control.cancelled {
      throw RunInterruption.cancelled(
        ProcessOutput(stdout: [], stderr: [], stdoutTruncated: false, stderrTruncated: false, termination: .exited(-1))
      )
    }
    var attempt = 1
    while true {
      do {
        let child = try spawn(request)
        return try communicate(child: child, request: request, control: control)
      } catch let failure as SpawnFailure where failure.step == .exec && failure.errno == ETXTBSY {
        if attempt >= request.textBusyAttempts { throw failure }
        attempt += 1
        usleep(UInt32(20_000 * attempt))
      }
    }
  }

  struct Child {
    var pid: pid_t
    var stdin: Int32
    var stdout: Int32
    var stderr: Int32
  }

  static func spawn(_ request: ProcessRequest) throws(SpawnFailure) -> Child {
    var namespaceFD: Int32 = -1
    if let namespacePath = request.namespacePath {
      namespaceFD = open(namespacePath, O_RDONLY | O_CLOEXEC)
      if namespaceFD < 0 { throw SpawnFailure(step: .openNamespace, errno: errno) }
    }
    defer { if namespaceFD >= 0 { close(namespaceFD) } }

    var stdinPair: [Int32] = [-1, -1]
    var stdoutPipe: [Int32] = [-1, -1]
    var stderrPipe: [Int32] = [-1, -1]
    guard cnet_socketpair_cloexec(&stdinPair) == 0 else { throw SpawnFailure(step: .pipes, errno: errno) }
    guard cnet_pipe_cloexec(&stdoutPipe) == 0 else {
      let code = errno
      stdinPair.forEach { close($0) }
      throw SpawnFailure(step: .pipes, errno: code)
    }
    guard cnet_pipe_cloexec(&stderrPipe) == 0 else {
      let code = errno
      (stdinPair + stdoutPipe).forEach { close($0) }
      throw SpawnFailure(step: .pipes, errno: code)
    }

    let argv = request.arguments.map { strdup($0) } + [nil]
    let envp = request.environment.map { strdup($0) } + [nil]
    defer {
      argv.forEach { free($0) }
      envp.forEach { free($0) }
    }
    var pid: pid_t = 0
    var step: Int32 = 0
    let code = cnet_spawn(
      request.path, argv, envp, Int32(CNET_SPAWN_NEW_PROCESS_GROUP), namespaceFD, stdinPair[1], stdoutPipe[1],
      stderrPipe[1], &pid, &step)
    // The child's ends belong to the child now; keeping them would hide its EOF from us.
    close(stdinPair[1])
    close(stdoutPipe[1])
    close(stderrPipe[1])
    if code != 0 {
      close(stdinPair[0])
      close(stdoutPipe[0])
      close(stderrPipe[0])
      let failedStep: SpawnFailure.Step =
        switch step {
        case Int32(CNET_SPAWN_STEP_SETPGID): .setpgid
        case Int32(CNET_SPAWN_STEP_SETNS): .setns
        case Int32(CNET_SPAWN_STEP_DUP2): .dup2
        case Int32(CNET_SPAWN_STEP_EXEC): .exec
        default: .fork
        }
      throw SpawnFailure(step: failedStep, errno: code)
    }
    for fd in [stdinPair[0], stdoutPipe[0], stderrPipe[0]] { _ = cnet_set_nonblocking(fd) }
    return Child(pid: pid, stdin: stdinPair[0], stdout: stdoutPipe[0], stderr: stderrPipe[0])
  }

  private enum Stop { case timeout, cancel }

  private static func now() -> ContinuousClock.Instant { ContinuousClock.now }

  private static func milliseconds(until deadline: ContinuousClock.Instant) -> Int32 {
    let remaining = deadline - now()
    if remaining <= .zero { return 0 }
    let (seconds, attoseconds) = remaining.components
    let total = seconds * 1000 + attoseconds / 1_000_000_000_000_000 + 1
    return Int32(clamping: total)
  }

  // The loop owns every descriptor in `child` and closes each exactly once.
  static func communicate(child: Child, request: ProcessRequest, control: RunControl) throws -> ProcessOutput {
    var stdinFD: Int32 = child.stdin
    var stdoutFD: Int32 = child.stdout
    var stderrFD: Int32 = child.stderr
    var pidFD = cnet_pidfd_open(child.pid)
    var stdinOffset = 0
    var stdout: [UInt8] = []
    var stderr: [UInt8] = []
    var stdoutTruncated = false
    var stderrTruncated = false
    var termination: ProcessTermination?
    var stop: Stop?
    var drainDeadline: ContinuousClock.Instant?
    let deadline = now() + request.timeout
    var readBuffer = [UInt8](repeating: 0, count: 65536)

    func closeDescriptor(_ fd: inout Int32) {
      if fd >= 0 { close(fd) }
      fd = -1
    }
    defer {
      closeDescriptor(&stdinFD)
      closeDescriptor(&stdoutFD)
      closeDescriptor(&stderrFD)
      closeDescriptor(&pidFD)
    }

    func reap(blocking: Bool) {
      guard termination == nil else { return }
      var status: Int32 = 0
      while true {
        let result = waitpid(child.pid, &status, blocking ? 0 : WNOHANG)
        if result == child.pid { break }
        if result < 0 && errno == EINTR { continue }
        if result < 0 {
          // Someone else reaped it; without a status, report a generic failure.
          termination = .exited(-1)
        }
        return
      }
      termination = ProcessTermination(waitStatus: status)
    }

    func killGroup(_ reason: Stop) {
      guard stop == nil else { return }
      stop = reason
      if termination == nil { kill(-child.pid, SIGKILL) }
      let graceEnd = now() + request.drainGrace
      drainDeadline = min(drainDeadline ?? graceEnd, graceEnd)
    }

    func drain(_ fd: inout Int32, into buffer: inout [UInt8], truncated: inout Bool) {
      while fd >= 0 {
        let count = readBuffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if count > 0 {
          let room = request.maximumOutputBytes - buffer.count
          if room >= count {
            buffer.append(contentsOf: readBuffer[0..<count])
          } else {
            // Keep reading so the child never blocks on a full pipe, but keep only what fits.
            if room > 0 { buffer.append(contentsOf: readBuffer[0..<room]) }
            truncated = true
          }
          continue
        }
        if count == 0 {
          closeDescriptor(&fd)
          return
        }
        if errno == EINTR { continue }
        if errno == EAGAIN || errno == EWOULDBLOCK { return }
        closeDescriptor(&fd)
      }
    }

    if request.stdin.isEmpty { closeDescriptor(&stdinFD) }

    while true {
      if termination != nil && stdoutFD < 0 && stderrFD < 0 { break }
      if let drainDeadline, now() >= drainDeadline { break }
      if stop == nil && now() >= deadline { killGroup(.timeout) }
      if stop == nil && control.cancelled { killGroup(.cancel) }

      var pollSet: [pollfd] = []
      func watch(_ fd: Int32, _ events: Int32) {
        if fd >= 0 { pollSet.append(pollfd(fd: fd, events: Int16(events), revents: 0)) }
      }
      watch(stdinFD, Int32(POLLOUT))
      watch(stdoutFD, Int32(POLLIN))
      watch(stderrFD, Int32(POLLIN))
      if stop == nil { watch(control.wakeDescriptor, Int32(POLLIN)) }
      if termination == nil { watch(pidFD, Int32(POLLIN)) }

      var waitMilliseconds: Int32 = stop == nil ? milliseconds(until: deadline) : Int32.max
      if let drainDeadline { waitMilliseconds = min(waitMilliseconds, milliseconds(until: drainDeadline)) }
      // Without a pidfd the only way to notice an exit while a grandchild holds the pipes is to ask now and then.
      if pidFD < 0 && termination == nil { waitMilliseconds = min(waitMilliseconds, 20) }
      let ready = pollSet.withUnsafeMutableBufferPointer { poll($0.baseAddress, nfds_t($0.count), waitMilliseconds) }
      if ready < 0 && errno != EINTR {
        killGroup(.cancel)
        break
      }

      for entry in pollSet where entry.revents != 0 {
        switch entry.fd {
        case stdinFD:
          while stdinOffset < request.stdin.count {
            let sent = request.stdin.withUnsafeBytes { raw in
              cnet_send_nosignal(stdinFD, raw.baseAddress! + stdinOffset, raw.count - stdinOffset)
            }
            if sent > 0 {
              stdinOffset += sent
            } else if sent < 0 && errno == EINTR {
              continue
            } else if sent < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) {
              break
            } else {
              // EPIPE or ECONNRESET: the plugin does not want its stdin (bridge's VERSION); that is fine.
              stdinOffset = request.stdin.count
            }
          }
          if stdinOffset >= request.stdin.count { closeDescriptor(&stdinFD) }
        case stdoutFD:
          drain(&stdoutFD, into: &stdout, truncated: &stdoutTruncated)
        case stderrFD:
          drain(&stderrFD, into: &stderr, truncated: &stderrTruncated)
        case pidFD:
          reap(blocking: false)
        case control.wakeDescriptor:
          killGroup(.cancel)
        default:
          break
        }
      }
      if pidFD < 0 && termination == nil { reap(blocking: false) }
      if termination != nil && drainDeadline == nil && (stdoutFD >= 0 || stderrFD >= 0) {
        drainDeadline = now() + request.drainGrace
      }
    }

    if termination == nil && stop == nil {
      // Out of the loop without an exit (poll failed): make sure the child cannot outlive us unreaped.
      kill(-child.pid, SIGKILL)
    }
    reap(blocking: true)
    let output = ProcessOutput(
      stdout: stdout, stderr: stderr, stdoutTruncated: stdoutTruncated, stderrTruncated: stderrTruncated,
      termination: termination ?? .exited(-1))
    switch stop {
    case .timeout: throw RunInterruption.timedOut(output)
    case .cancel: throw RunInterruption.cancelled(output)
    case nil: return output
    }
  }
}
