import SystemSupport

#if canImport(Glibc)
  import Glibc
#endif

/// The lock file that serialises changes to a store of networks (Podman's `cni.lock` or `netavark.lock`), taken
/// the way Podman takes it so that cnet and Podman never change one directory at the same time.
public enum NetworkStoreLock {
  /// Runs `body` holding the lock at `path`, creating `directory` first; waits at most `timeout` for another
  /// holder, then fails with ``NetworkError/Code/timedOut`` naming the lock.
  public static func withLock<T>(
    isolation: isolated (any Actor)? = #isolation, path: String, directory: String, timeout: Duration,
    _ body: () async throws -> T
  ) async throws -> T {
    do {
      try makeDirectories(directory)
    } catch {
      throw NetworkError(.io, "cannot create \(directory): \(error)", causes: [error])
    }
    let lock: FileLock
    do {
      lock = try await FileLock.acquire(path: path, timeout: timeout)
    } catch  where error.errno == ETIMEDOUT {
      throw NetworkError(
        .timedOut, "timed out after \(timeout) waiting for the lock \(path): another process holds it", causes: [error])
    } catch {
      throw NetworkError(.io, "cannot lock \(path): \(error)", causes: [error])
    }
    defer { lock.unlock() }
    return try await body()
  }
}
