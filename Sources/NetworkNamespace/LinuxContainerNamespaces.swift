import CNetShim
import ContainerNetworkCore
import NetworkNetlink

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#endif

/// The Linux ``ContainerNamespaces``: checks with stat(2) and nsfs, work inside the namespace on a thread of its own.
public struct LinuxContainerNamespaces: ContainerNamespaces {
  /// The namespace the backend's plugins or dataplane run in instead of ours (a rootless or test "host"), which is
  /// no container's either.
  public var hostNamespacePath: String?

  public init(hostNamespacePath: String? = nil) {
    self.hostNamespacePath = hostNamespacePath
  }

  public func check(_ path: String, forTeardown: Bool) throws(NetworkError) {
    guard !path.isEmpty else { throw NetworkError(.invalidArgument, "namespace path must not be empty") }
    var info = stat()
    if stat(path, &info) != 0 {
      let code = errno
      let missing = code == ENOENT || code == ENOTDIR
      if forTeardown && missing { return }
      throw NetworkError(
        .invalidArgument, "namespace path \(path): \(missing ? "does not exist" : String(cString: strerror(code)))")
    }
    if NetworkNamespace.isCurrent(path) || hostNamespacePath.map({ NetworkNamespace.isSame(path, as: $0) }) == true {
      throw NetworkError(
        .invalidArgument,
        "namespace path \(path) is the host's own network namespace, not a container's: refusing to change it")
    }
  }

  public func prepare(_ path: String, interfaces: [String]) async throws(NetworkError) -> [String] {
    guard NetworkNamespace.isNetworkNamespace(path) else {
      throw NetworkError(.invalidArgument, "\(path) is not a network namespace")
    }
    do {
      return try await NetworkNamespace.run(in: path) {
        try NetworkNamespace.bringLoopbackUpHere(path)
        return interfaces.filter { if_nametoindex($0) != 0 }
      }
    } catch let error as NetworkError {
      throw error
    } catch {
      throw NetworkError(.io, "\(error)")
    }
  }
}

extension LinuxContainerNamespaces {
  public func identity(of path: String) -> String? {
    NetworkNamespace.identityText(of: path)
  }

  public func isGone(_ path: String) -> Bool {
    access(path, F_OK) != 0 && errno == ENOENT
  }

  public func withStandIn<T: Sendable>(
    interfaces: [StandInInterface], under directory: String, _ body: @Sendable (String) async throws -> T
  ) async throws -> T {
    let path = "\(directory)/stand-in-\(UInt64.random(in: 0...UInt64.max))"
    try NetworkNamespace.create(at: path)
    defer { try? NetworkNamespace.remove(at: path) }
    // A veth pair stands in for each interface (kernels without the `dummy` link type exist, this machine's
    // among them), with the addresses the container's had.
    try await NetworkNamespace.run(in: path) {
      let netlink = try RouteNetlink()
      for (index, interface) in interfaces.enumerated() {
        try netlink.createVeth(name: interface.name, peer: "stand-in\(index)")
        let link = try netlink.linkIndex(interface.name)
        for address in interface.addresses { try netlink.addAddress(address, index: link) }
      }
    }
    return try await body(path)
  }
}
