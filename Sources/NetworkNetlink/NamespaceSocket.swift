import CNetShim
import SystemSupport

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#endif

extension LinuxNetlinkSocket {
  /// A socket of the network namespace at `namespacePath`: opened on a new OS thread that enters the namespace and
  /// then ends, because a socket stays bound to the namespace it was made in. No Swift-concurrency thread, and not
  /// the caller's thread, ever changes namespace.
  public convenience init(namespacePath: String, protocol family: Int32 = 0) throws(NetlinkError) {
    let namespaceFD = open(namespacePath, O_RDONLY | O_CLOEXEC)
    guard namespaceFD >= 0 else { throw NetlinkError(operation: "open \(namespacePath)", errno: errno) }
    defer { close(namespaceFD) }
    let made: Result<Int32, NetlinkError>
    do {
      made = try OSThread.runOnNewThread { () -> Result<Int32, NetlinkError> in
        guard cnet_setns(namespaceFD, cnet_clone_newnet()) == 0 else {
          return .failure(NetlinkError(operation: "setns \(namespacePath)", errno: errno))
        }
        return Result { () throws(NetlinkError) in try LinuxNetlinkSocket.openDescriptor(protocol: family) }
      }
    } catch {
      throw NetlinkError(
        operation: "start a thread for \(namespacePath)", errno: (error as? SystemCallError)?.errno ?? EAGAIN)
    }
    self.init(descriptor: try made.get())
  }
}
