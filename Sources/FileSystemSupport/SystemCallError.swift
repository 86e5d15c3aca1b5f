#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

/// A failed system call: which call, on which path, and the errno it returned.
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
