import ContainerNetworkCore
import NetworkNetlink

/// Runs netlink work and turns its error into the package's, with the kernel's reason and errno kept.
@discardableResult
func netlink<T>(_ body: () throws(NetlinkError) -> T) throws(NetworkError) -> T {
  do {
    return try body()
  } catch {
    throw NetworkError(.io, "\(error)", causes: [error])
  }
}
