import CNetShim
import SystemSupport

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#endif

/// Creating, entering and removing Linux network namespaces without moving any shared thread.
///
/// A namespace switch applies to one OS thread. A Swift-concurrency thread that switched and then awaited would
/// resume elsewhere and leave a pool thread in the wrong namespace, so every switch here happens on a fresh OS thread
/// that exits when its work is done. The calling thread's namespace never changes.
public enum NetworkNamespace {
  /// Where `ip netns` keeps named namespaces.
  public static let runDirectory = "/run/netns"

  /// Whether `path` is a network namespace file (a bind mount of a net namespace), not just any file.
  public static func isNetworkNamespace(_ path: String) -> Bool {
    cnet_is_network_namespace(path) == 1
  }

  /// Whether the files at `first` and `second` are the same namespace (the same nsfs inode); false when either
  /// cannot be stat'ed.
  public static func isSame(_ first: String, as second: String) -> Bool {
    guard let one = identity(first), let other = identity(second) else { return false }
    return one == other
  }

  /// The namespace at `path` as `device:inode`, what tells it from a later namespace mounted at the same path; nil
  /// when `path` cannot be stat'ed.
  public static func identityText(of path: String) -> String? {
    identity(path).map { "\($0[0]):\($0[1])" }
  }

  /// Whether `path` is the network namespace this process, or the calling thread, runs in: attaching it would give
  /// the host an interface and a default route, and tearing it down could delete the host's own `eth0`.
  public static func isCurrent(_ path: String) -> Bool {
    isSame(path, as: "/proc/self/ns/net") || isSame(path, as: "/proc/thread-self/ns/net")
  }

  /// Device and inode: what tells namespaces apart, whichever path names them.
  private static func identity(_ path: String) -> [UInt64]? {
    var info = stat()
    guard stat(path, &info) == 0 else { return nil }
    return [UInt64(info.st_dev), UInt64(info.st_ino)]
  }

  /// Runs `body` on a new OS thread inside the network namespace at `path`, waiting for it to finish.
  public static func run<T: Sendable>(in path: String, _ body: @escaping @Sendable () throws -> T) throws -> T {
    let fd = try openNamespace(path)
    defer { close(fd) }
    return try OSThread.runOnNewThread {
      try enter(fd: fd, path: path)
      return try body()
    }
  }

  /// The same as ``run(in:_:)``, for async callers: no Swift-concurrency thread blocks while the work runs.
  public static func run<T: Sendable>(
    in path: String, _ body: @escaping @Sendable () throws -> T
  ) async throws -> T {
    let fd = try openNamespace(path)
    defer { close(fd) }
    return try await withCheckedThrowingContinuation { continuation in
      do {
        try OSThread.start {
          continuation.resume(
            with: Result {
              try enter(fd: fd, path: path)
              return try body()
            })
        }
      } catch {
        continuation.resume(throwing: error)
      }
    }
  }

  /// Creates a new, empty network namespace and bind-mounts it at `path` (normally `/run/netns/NAME`).
  ///
  /// On failure nothing stays behind: neither the mount nor the file.
  public static func create(at path: String) throws {
    let directory = String(path[..<(path.lastIndex(of: "/") ?? path.startIndex)])
    if !directory.isEmpty {
      try makeDirectories(directory)
      if directory == runDirectory { makeSharedMount(directory) }
    }
    let fd = open(path, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o444)
    if fd < 0 { throw SystemCallError(call: "create namespace file", path: path, errno: errno) }
    close(fd)
    do {
      try OSThread.runOnNewThread {
        if cnet_unshare(cnet_clone_newnet()) != 0 {
          throw SystemCallError(call: "unshare(CLONE_NEWNET)", errno: errno)
        }
        let source = "/proc/thread-self/ns/net"
        if mount(source, path, "none", UInt(MS_BIND), nil) != 0 {
          throw SystemCallError(call: "mount --bind", path: path, errno: errno)
        }
      }
    } catch {
      unlink(path)
      throw error
    }
  }

  /// Creates a namespace named `name` under ``runDirectory`` and returns its path.
  @discardableResult
  public static func create(named name: String) throws -> String {
    let path = "\(runDirectory)/\(name)"
    try create(at: path)
    return path
  }

  /// Unmounts and deletes the namespace file at `path`. A missing file is not an error.
  public static func remove(at path: String) throws {
    if umount2(path, Int32(MNT_DETACH)) != 0 {
      let code = errno
      // EINVAL: not a mount point (already unmounted); ENOENT: already gone.
      if code != EINVAL && code != ENOENT { throw SystemCallError(call: "umount", path: path, errno: code) }
    }
    if unlink(path) != 0 && errno != ENOENT {
      throw SystemCallError(call: "unlink", path: path, errno: errno)
    }
  }

  /// Brings the loopback interface up in the namespace the calling thread is in (`path` names it for the error).
  static func bringLoopbackUpHere(_ path: String) throws(SystemCallError) {
    if cnet_link_set_up("lo") != 0 { throw SystemCallError(call: "set lo up", path: path, errno: errno) }
  }

  // MARK: - Threads

  private static func openNamespace(_ path: String) throws -> Int32 {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    if fd < 0 { throw SystemCallError(call: "open network namespace", path: path, errno: errno) }
    return fd
  }

  private static func enter(fd: Int32, path: String) throws {
    if cnet_setns(fd, cnet_clone_newnet()) != 0 {
      let code = errno
      throw NamespaceError(
        path: path, reason: code == EINVAL ? "not a network namespace" : String(cString: strerror(code)))
    }
  }

  private static func makeSharedMount(_ directory: String) {
    // As `ip netns` does: make the directory a shared mount so namespaces mounted later propagate to other mount
    // namespaces; when it is not yet a mount point, bind it onto itself first. Failure only limits propagation.
    if mount("", directory, "none", UInt(MS_SHARED | MS_REC), nil) != 0 && errno == EINVAL {
      if mount(directory, directory, "none", UInt(MS_BIND | MS_REC), nil) == 0 {
        _ = mount("", directory, "none", UInt(MS_SHARED | MS_REC), nil)
      }
    }
  }
}

/// A namespace could not be entered; `path` is what the caller gave.
public struct NamespaceError: Error, CustomStringConvertible, Sendable {
  public var path: String
  public var reason: String
  public var description: String { "cannot enter network namespace \(path): \(reason)" }
}
