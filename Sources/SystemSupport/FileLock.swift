import CNetShim

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

/// An exclusive lock on a file, held from ``acquire(path:)`` until ``unlock()`` or deinit.
///
/// By default it is an open-file-description lock, which conflicts with the fcntl record locks Podman takes on the
/// same file, so both tools exclude each other; ``Kind/flock`` is for files that others lock with flock(2). The kernel drops it with the process, so a process killed with SIGKILL never
/// leaves a lock held. The lock file itself stays. It is created 0600, and an existing one of ours loses its group
/// and other bits: anyone who can open it can hold a shared lock on it and so stop every change.
public final class FileLock: Sendable {
  /// Which kind of lock: the two do not exclude each other, so it must be the one the file's other users take.
  public enum Kind: Sendable {
    /// An open-file-description lock (conflicts with fcntl record locks, as Podman takes `netavark.lock`).
    case openFileDescription
    /// A BSD flock, as netavark takes `aardvark.lock` (Rust's fs2 crate).
    case flock
  }

  public let path: String
  private let fd: Int32
  private let kind: Kind

  private init(path: String, fd: Int32, kind: Kind = .openFileDescription) {
    self.path = path
    self.fd = fd
    self.kind = kind
  }

  /// Blocks until the exclusive lock on `path` is ours, creating the file (and its directory) when missing.
  public static func acquire(path: String) throws(SystemCallError) -> FileLock {
    let fd = try openLockFile(path)
    do {
      try retryingOnInterrupt("lock", path: path) { cnet_ofd_lock(fd, 1) }
    } catch {
      close(fd)
      throw error
    }
    return FileLock(path: path, fd: fd)
  }

  /// Waits for the lock, at most `timeout`, without blocking a Swift-concurrency thread: a blocked pool thread could
  /// starve the very task that holds the lock. The uncontended case takes the lock at once; otherwise a thread of
  /// its own (``OSThread``) tries again, at growing intervals up to 20 ms, until the lock is free or the time is up.
  ///
  /// - Throws: ``SystemCallError`` with `ETIMEDOUT` when another process held the lock for all of `timeout`.
  public static func acquire(path: String, timeout: Duration, kind: Kind = .openFileDescription)
    async throws(SystemCallError) -> FileLock
  {
    let fd = try openLockFile(path)
    if tryLock(fd, kind) == 0 { return FileLock(path: path, fd: fd, kind: kind) }
    let code = errno
    guard code == EAGAIN || code == EACCES || code == EINTR else {
      close(fd)
      throw SystemCallError(call: "lock", path: path, errno: code)
    }
    let deadline = ContinuousClock.now + timeout
    let outcome: Result<FileLock, SystemCallError> = await withCheckedContinuation { continuation in
      let waiting: @Sendable () -> Void = {
        var pause: UInt32 = 500
        while true {
          if tryLock(fd, kind) == 0 {
            return continuation.resume(returning: .success(FileLock(path: path, fd: fd, kind: kind)))
          }
          let code = errno
          let failure: Int32? =
            code == EAGAIN || code == EACCES || code == EINTR
            ? (ContinuousClock.now < deadline ? nil : ETIMEDOUT) : code
          if let failure {
            close(fd)
            return continuation.resume(returning: .failure(SystemCallError(call: "lock", path: path, errno: failure)))
          }
          usleep(pause)
          pause = min(pause * 2, 20_000)
        }
      }
      do {
        try OSThread.start(waiting)
      } catch {
        close(fd)
        continuation.resume(returning: .failure(SystemCallError(call: "pthread_create", path: path, errno: EAGAIN)))
      }
    }
    return try outcome.get()
  }

  /// One attempt at the exclusive lock: 0, or -1 with errno (`EAGAIN`/`EWOULDBLOCK` while another holds it).
  private static func tryLock(_ fd: Int32, _ kind: Kind) -> Int32 {
    switch kind {
    case .openFileDescription: cnet_ofd_trylock(fd, 1)
    case .flock: bsdLock(fd, LOCK_EX | LOCK_NB)
    }
  }

  /// Opens (creating when missing, with its directory) the lock file, private to its owner.
  private static func openLockFile(_ path: String) throws(SystemCallError) -> Int32 {
    try makeDirectories(AtomicFile.parentDirectory(of: path))
    let fd = try retryingOnInterrupt("open", path: path) { open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600) }
    var info = stat()
    if fstat(fd, &info) == 0 && info.st_uid == geteuid() && info.st_mode & 0o077 != 0 {
      // Best effort: a file we cannot change is still locked correctly, only less safely.
      _ = fchmod(fd, info.st_mode & 0o700)
    }
    return fd
  }

  /// Runs `body` while holding the lock on `path`.
  public static func withLock<T>(path: String, _ body: () throws -> T) throws -> T {
    let lock = try acquire(path: path)
    defer { lock.unlock() }
    return try body()
  }

  /// Releases the lock; calling it again does nothing.
  public func unlock() {
    // Closing the descriptor releases either kind; deinit does.
    switch kind {
    case .openFileDescription: _ = cnet_ofd_unlock(fd)
    case .flock: _ = bsdLock(fd, LOCK_UN)
    }
  }

  deinit {
    close(fd)
  }
}

/// flock(2), under a name that the ``FileLock/Kind/flock`` case does not shadow.
private func bsdLock(_ fd: Int32, _ operation: Int32) -> Int32 {
  flock(fd, operation)
}
