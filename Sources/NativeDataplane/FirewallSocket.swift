import ContainerNetworkCore
import NetworkNFTables
import NetworkNamespace
import NetworkNetlink
import Synchronization

#if canImport(Glibc)
  import Glibc
#endif

/// The process's netfilter socket, kept open between calls: closing one after a deletion waits until the kernel has
/// freed what was deleted (an RCU grace period, 10–20 ms here), so a socket per teardown would add that to every
/// cycle with published ports. One host namespace's socket is kept (an engine has one host); a call for another
/// namespace replaces it. Calls take turns on it: each is a few microseconds.
final class FirewallSocket: Sendable {
  static let shared = FirewallSocket()

  private let current = Mutex<(key: String, socket: NFTablesNetlink)?>(nil)

  /// Runs `body` with the socket of the namespace at `namespacePath` (the process's own when nil), opened if needed.
  /// A failure other than the kernel's answer to a request drops the socket, so that the next call opens a new one.
  func with<T: Sendable>(
    namespacePath: String?, _ body: (NFTablesNetlink) throws(NetworkError) -> T
  ) throws(NetworkError) -> T {
    // The namespace's identity, not only its path: a test's namespace deleted and another made at the same path must
    // not be reached through the old one's socket.
    let key = namespacePath.map { "\($0) \(NetworkNamespace.identityText(of: $0) ?? "")" } ?? ""
    return try current.withLock { (current: inout (key: String, socket: NFTablesNetlink)?) throws(NetworkError) -> T in
      if current?.key != key {
        current = nil
        let opened = try netlink { () throws(NetlinkError) in try NFTablesNetlink(namespacePath: namespacePath) }
        current = (key, opened)
      }
      do throws(NetworkError) {
        return try body(current!.socket)
      } catch {
        if error.causes.contains(where: { ($0 as? NetlinkError).map(Self.isSocketFailure) ?? false }) {
          current = nil
        }
        throw error
      }
    }
  }

  /// Whether the socket itself failed (rather than the kernel refusing a request).
  private static func isSocketFailure(_ error: NetlinkError) -> Bool {
    [EBADF, ENOTSOCK, ECONNREFUSED, EPIPE, ENOBUFS, EAGAIN].contains(error.errno)
  }
}
