import Logging

/// Where the native dataplane keeps its state, and which namespace is the host's.
public struct NativeDataplaneConfiguration: Sendable {
  /// One directory per network holding one state file per container (`<network>/<container ID>.json`); under the
  /// run directory (`/run/containers/networks/cnet-native`), so that it ends with the boot as the links do.
  public var stateDirectory: String
  /// The namespace that holds bridges and host ends of veths; nil for the caller's own (tests use a private one).
  public var hostNamespacePath: String?
  /// The `nft` program that writes the firewall's per-host and per-network objects (Debian's `nftables`).
  public var nftPath: String
  public var logger: Logger

  public init(
    stateDirectory: String, hostNamespacePath: String? = nil, nftPath: String = "/usr/sbin/nft",
    logger: Logger = Logger(label: "cnet.native")
  ) {
    self.stateDirectory = stateDirectory
    self.hostNamespacePath = hostNamespacePath
    self.nftPath = nftPath
    self.logger = logger
  }
}
