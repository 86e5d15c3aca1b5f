import CNIRuntime
import ContainerNetworkCore
import Logging
import NetworkAddress

/// Where the CNI backend keeps its files and how it runs plugins. The defaults are Podman's.
public struct CNIBackendConfiguration: Sendable {
  /// The directory of `.conflist` files.
  public var configDirectory: String
  /// Where CNI plugins are searched, in order.
  public var pluginDirectories: [String]
  /// libcni's result cache (`<cacheDirectory>/results/…`).
  public var cacheDirectory: String
  /// The lock that serialises changes; Podman's for the same directory unless set.
  public var lockPath: String
  /// host-local's reservation directory; nil keeps the plugin's default (/var/lib/cni/networks). When set, it is
  /// handed to host-local at run time and never written into config files, and tuning keeps its backups (by default
  /// in /run/cni/tuning) in its subdirectory `.tuning` (no network name starts with a dot), so that a sandbox of
  /// this directory holds every file the plugins write.
  public var hostLocalDataDirectory: String?
  /// How long one plugin may run before its process group is killed.
  public var pluginTimeout: Duration
  /// How long a change (create, rm, prune) waits for ``lockPath`` before it fails with an error naming the lock.
  /// Podman waits forever; a holder that never lets go (a stuck process, a reader holding a shared lock) must not
  /// hang every later change without a word.
  public var lockTimeout: Duration = .seconds(30)
  /// Run plugins, and look at host interfaces, in this network namespace instead of ours (a rootless or test
  /// "host" namespace). nil means the current namespace.
  public var hostNamespacePath: String?
  /// The network that exists even without a file.
  public var defaultNetworkName: String
  public var defaultNetworkInterface: String
  public var defaultSubnet: IPNetwork
  /// Keep an index of the parsed config directory in the cache directory, so that a new process reads one file
  /// instead of every `.conflist` (see ``networkIndexPath``).
  public var usesNetworkIndex: Bool
  /// Where automatic subnets come from, each pool with the size of its subnets.
  public var subnetPools: [SubnetPool]
  public var logger: Logger
  /// Which thread waits for a running plugin: a pooled one (the default, right on Swift's shared executors) or the
  /// calling one, for a caller whose task has a thread of its own (`cnet`).
  public var pluginWaiting: PluginWaiting = .pooledThread
  /// Runs the plugins; nil means the real ``PluginExecutor`` over ``pluginDirectories``, ``pluginTimeout``,
  /// ``hostNamespacePath`` and ``pluginWaiting``. Tests give a fake.
  public var pluginExecutor: (any PluginExecuting)?
  /// The containers.conf files these settings were read from, and where each setting came from: reported by
  /// ``CNINetworkBackend/networkInfo()``, never acted on.
  public var configurationFiles: [String] = []
  public var settingOrigins: [NetworkSetting: String] = [:]
  /// Checks and prepares container namespaces; nil means `LinuxContainerNamespaces` with ``hostNamespacePath``.
  /// Tests give a fake.
  public var namespaces: (any ContainerNamespaces)?

  public static let defaultPluginDirectories = [
    "/usr/local/libexec/cni", "/usr/libexec/cni", "/usr/local/lib/cni", "/usr/lib/cni", "/opt/cni/bin",
  ]
  public static let defaultConfigDirectory = "/etc/cni/net.d"

  public init(
    configDirectory: String = defaultConfigDirectory,
    pluginDirectories: [String] = defaultPluginDirectories,
    cacheDirectory: String = "/var/lib/cni",
    lockPath: String? = nil,
    hostLocalDataDirectory: String? = nil,
    pluginTimeout: Duration = .seconds(60),
    hostNamespacePath: String? = nil,
    logger: Logger = Logger(label: "cnet.cni")
  ) {
    self.configDirectory = configDirectory
    self.pluginDirectories = pluginDirectories
    self.cacheDirectory = cacheDirectory
    self.lockPath = lockPath ?? Self.podmanLockPath(configDirectory: configDirectory)
    self.hostLocalDataDirectory = hostLocalDataDirectory
    self.pluginTimeout = pluginTimeout
    self.hostNamespacePath = hostNamespacePath
    self.defaultNetworkName = "podman"
    self.defaultNetworkInterface = "cni-podman0"
    self.defaultSubnet = IPNetwork("10.88.0.0/16")!
    self.subnetPools = SubnetAllocator.defaultPools.map { SubnetPool(base: $0, size: 24) }
    self.usesNetworkIndex = true
    self.logger = logger
  }

  /// The index of the config directory: `<cacheDirectory>/cnet/networks-<hash of configDirectory>.index`, private to
  /// cnet (Podman neither reads nor needs it); nil when ``usesNetworkIndex`` is off.
  public var networkIndexPath: String? {
    guard usesNetworkIndex else { return nil }
    // The name only has to tell config directories apart (the index also records its directory); a cryptographic
    // hash cost a tenth of a millisecond per process for nothing.
    let hex = String(NetworkIndex.fnv1a64(configDirectory.utf8), radix: 16)
    return "\(cacheDirectory)/cnet/networks-\(String(repeating: "0", count: 16 - hex.count) + hex).index"
  }

  /// The lock file Podman's CNI backend takes for `configDirectory`, so both tools can run side by side.
  public static func podmanLockPath(configDirectory: String) -> String {
    "\(configDirectory)/cni.lock"
  }
}
