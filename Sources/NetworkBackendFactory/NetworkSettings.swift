import CNIBackend
import CNIRuntime
import ContainerNetworkCore
import Logging
import NetworkAddress

/// Everything that chooses and configures a backend. The initial values are Podman's defaults;
/// ``load(environment:searchPaths:)`` lays containers.conf and the `CNET_*` variables over them, and a caller
/// (`cnet`'s flags) may change any field afterwards, noting where it came from in ``origins``.
public struct NetworkSettings: Sendable {
  /// The backends a setting can name.
  public enum Backend: String, Sendable, CaseIterable {
    case cni, netavark, native
  }

  public var backend: Backend = .cni
  /// Where the backend keeps its networks; nil means its own default (``defaultConfigDirectory(for:)``).
  public var configDirectory: String?
  public var pluginDirectories: [String] = CNIBackendConfiguration.defaultPluginDirectories
  /// libcni's result cache, and cnet's network index.
  public var cacheDirectory = "/var/lib/cni"
  /// netavark's state directory.
  public var runDirectory = "/run/containers/networks"
  /// Where netavark and aardvark-dns are looked for (`[engine] helper_binaries_dir`).
  public var helperDirectories = [
    "/usr/local/libexec/podman", "/usr/local/lib/podman", "/usr/libexec/podman", "/usr/lib/podman",
  ]
  public var defaultNetwork = "podman"
  public var defaultSubnet = IPNetwork("10.88.0.0/16")!
  public var subnetPools = SubnetAllocator.defaultPools.map { SubnetPool(base: $0, size: 24) }
  /// `firewall_driver`: read and reported; the CNI backend's plugins choose their own.
  public var firewallDriver: String?
  /// `dns_bind_port`: read and reported; the CNI backend's dnsname plugin uses port 53.
  public var dnsBindPort: Int?
  public var pluginTimeout: Duration = .seconds(60)
  /// host-local's reservations (`CNET_HOST_LOCAL_DIR`); nil keeps the plugin's default.
  public var hostLocalDataDirectory: String?
  /// A namespace that plugins run in instead of ours (`CNET_HOST_NETNS`).
  public var hostNamespacePath: String?
  public var pluginWaiting: PluginWaiting = .pooledThread
  public var logger = Logger(label: "cnet")
  /// The containers.conf files that were read, in order.
  public var configFiles: [String] = []
  /// Where each setting that is not a default came from, by its containers.conf name (`network_config_dir`, …).
  public var origins: [NetworkSetting: String] = [:]

  public init() {}

  /// Podman's default directory of network definitions for `backend`.
  public static func defaultConfigDirectory(for backend: Backend) -> String {
    switch backend {
    case .cni: CNIBackendConfiguration.defaultConfigDirectory
    case .netavark, .native: "/etc/containers/networks"
    }
  }

  /// ``configDirectory``, or the backend's default.
  public var effectiveConfigDirectory: String {
    configDirectory ?? Self.defaultConfigDirectory(for: backend)
  }

  /// Where `setting` came from: its entry in ``origins``, else `default`.
  public func origin(of setting: NetworkSetting) -> String { origins[setting] ?? "default" }
}
