import CNetShim
import Dispatch

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

/// An exclusive lock on a file, held from ``acquire(path:)`` until ``unlock()`` or deinit.
///
/// It is an open-file-description lock, which conflicts with the fcntl record locks Podman takes on the same file,
/// so both tools exclude each other. The kernel drops it with the process, so a process killed with SIGKILL never
/// leaves a lock held. The lock file itself stays; it is created 0644 so that it is never world-writable.
public final class FileLock: Sendable {
  public let path: String
  private let fd: Int32

  private init(path: String, fd: Int32) {
    self.path = path
    self.fd = fd
  }

  /// Blocks until the exclusive lock on `path` is ours, creating the file (and its directory) when missing.
  public static func acquire(path: String) throws(SystemCallError) -> FileLock {
    try makeDirectories(AtomicFile.parentDirectory(of: path))
    let fd = try retryingOnInterrupt("open", path: path) { open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644) }
    do {
      try retryingOnInterrupt("lock", path: path) { cnet_ofd_lock(fd, 1) }
    } catch {
      close(fd)
      throw error
    }
    return FileLock(path: path, fd: fd)
  }

  /// Waits for the lock without blocking a Swift-concurrency thread: a blocked pool thread could starve the very
  /// task that holds the lock. The uncontended case takes the lock at once; otherwise a Dispatch thread waits.
  public static func acquire(path: String) async throws -> FileLock {
    try makeDirectories(AtomicFile.parentDirectory(of: path))
    let fd = try retryingOnInterrupt("open", path: path) { open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644) }
    if cnet_ofd_trylock(fd, 1) == 0 { return FileLock(path: path, fd: fd) }
    let code = errno
    guard code == EAGAIN || code == EACCES || code == EINTR else {
      close(fd)
      throw SystemCallError(call: "lock", path: path, errno: code)
    }
    return try await withCheckedThrowingContinuation { continuation in
      DispatchQueue.global().async {
        do {
          try retryingOnInterrupt("lock", path: path) { cnet_ofd_lock(fd, 1) }
          continuation.resume(returning: FileLock(path: path, fd: fd))
        } catch {
          close(fd)
          continuation.resume(throwing: error)
        }
      }
    }
  }

  /// Runs `body` while holding the lock on `path`.
  public static func withLock<T>(path: String, _ body: () throws -> T) throws -> T {
    let lock = try acquire(path: path)
    defer { lock.unlock() }
    return try body()
  }

  /// Releases the lock; calling it again does nothing.
  public func unlock() {
    // Closing the descriptor releases the flock; deinit would do the same.
    _ = cnet_ofd_unlock(fd)
  }

  deinit {
    close(fd)
  }
}
