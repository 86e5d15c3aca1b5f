import ContainerNetworkCore
import Logging
import NetworkAddress
import NetworkNamespace

/// Everything the netavark backend needs; the defaults are Podman's.
public struct NetavarkBackendConfiguration: Sendable {
  /// Podman's JSON networks (`network_config_dir`).
  public var configDirectory: String
  /// netavark's state and our IPAM database (`/run/containers/networks`).
  public var runDirectory: String
  public var netavarkPath: String
  public var aardvarkPath: String
  /// How long one netavark run may take before its process group is killed.
  public var timeout: Duration
  /// How long a change (create, rm, prune, setup) waits for the config lock or the IPAM database.
  public var lockTimeout: Duration = .seconds(30)
  /// A namespace that netavark runs in instead of ours (`CNET_HOST_NETNS`, for tests).
  public var hostNamespacePath: String?
  public var defaultNetworkName: String
  public var defaultNetworkInterface: String
  public var defaultSubnet: IPNetwork
  public var subnetPools: [SubnetPool]
  public var logger: Logger
  /// What ``NetworkInfo`` calls the backend: `netavark`, or `native` with the in-process dataplane.
  public var backendName = "netavark"
  /// The dataplane; nil runs the real netavark at ``netavarkPath``.
  public var dataplane: (any NetavarkDataplane)?
  /// How container namespaces are checked; nil uses the real ones.
  public var namespaces: (any ContainerNamespaces)?
  /// For ``NetworkInfo``: the containers.conf files read and where each setting came from.
  public var configurationFiles: [String] = []
  public var settingOrigins: [NetworkSetting: String] = [:]

  public static let defaultConfigDirectory = "/etc/containers/networks"
  public static let defaultRunDirectory = "/run/containers/networks"
  /// The ID Podman gives its default network `podman`, the same on every host.
  public static let defaultNetworkID = "2f259bab93aaaaa2542ba43ef33eb990d0999ee1b9924b557b7be53c0b7a1bb9"

  public init(
    configDirectory: String = Self.defaultConfigDirectory, runDirectory: String = Self.defaultRunDirectory,
    netavarkPath: String = "/usr/lib/podman/netavark", aardvarkPath: String = "/usr/lib/podman/aardvark-dns",
    timeout: Duration = .seconds(60), hostNamespacePath: String? = nil, defaultNetworkName: String = "podman",
    defaultNetworkInterface: String = "podman0", defaultSubnet: IPNetwork = IPNetwork("10.88.0.0/16")!,
    subnetPools: [SubnetPool] = SubnetAllocator.defaultPools.map { SubnetPool(base: $0, size: 24) },
    logger: Logger = Logger(label: "cnet.netavark")
  ) {
    self.configDirectory = configDirectory
    self.runDirectory = runDirectory
    self.netavarkPath = netavarkPath
    self.aardvarkPath = aardvarkPath
    self.timeout = timeout
    self.hostNamespacePath = hostNamespacePath
    self.defaultNetworkName = defaultNetworkName
    self.defaultNetworkInterface = defaultNetworkInterface
    self.defaultSubnet = defaultSubnet
    self.subnetPools = subnetPools
    self.logger = logger
  }

  /// Podman's lock for changes to the network files (`<config dir>/netavark.lock`).
  public var lockPath: String { "\(configDirectory)/netavark.lock" }
}
