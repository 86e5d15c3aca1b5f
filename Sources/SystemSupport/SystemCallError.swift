#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

/// A failed system call: which call, on which path, and the errno it returned.
///
/// Why not swift-system's `FileDescriptor` and `Errno`: the calls this package makes are mostly ones it lacks
/// (open-file-description locks, `pipe2`/`socketpair` with close-on-exec, pidfd, `setns`, `unshare`, mounts), made
/// through the C shim or Glibc anyway; a second error type for the few it has would split one concept in two, and
/// its `Errno` carries no call name or path, which every message here names. File I/O has one way per purpose:
/// `AtomicFile` writes, `readWholeFile`-style raw reads where a size limit, `O_NOFOLLOW` or a stat of the same
/// descriptor matter (config files, the index, the cache), FileManager only to list directories.
public struct SystemCallError: Error, Equatable, CustomStringConvertible, Sendable {
  /// The name of the call that failed, e.g. `open`.
  public var call: String
  /// The file the call was about, when there was one.
  public var path: String?
  /// The errno value.
  public var errno: Int32

  public init(call: String, path: String? = nil, errno: Int32) {
    self.call = call
    self.path = path
    self.errno = errno
  }

  public var description: String {
    let reason = String(cString: strerror(errno))
    if let path { return "\(call) \(path): \(reason)" }
    return "\(call): \(reason)"
  }
}

/// Runs a system call, retrying on EINTR, and throws `SystemCallError` when it returns -1.
@discardableResult
public func retryingOnInterrupt<T: BinaryInteger>(
  _ call: String, path: String? = nil, _ body: () -> T
) throws(SystemCallError) -> T {
  while true {
    let result = body()
    if result != -1 { return result }
    let code = errno
    if code == EINTR { continue }
    throw SystemCallError(call: call, path: path, errno: code)
  }
}
