import NetworkAddress

/// The settings a container-network library takes from Podman's containers.conf: the `[network]` keys and
/// `engine.helper_binaries_dir`, layered over every file Podman reads (see ``load(environment:searchPaths:)``).
///
/// Every key is optional, nil when no file set it, so a caller can put its own defaults under the files and its
/// command-line flags over them. A file that sets a string key to `""`, or `dns_bind_port` to `0`, makes it nil
/// again: Podman stores that value too and then treats it as "use the built-in default".
public struct ContainersConf: Sendable, Equatable {
  /// `network.network_backend`: `"cni"` or `"netavark"`; Podman detects the backend when unset.
  public var networkBackend: String?
  /// `network.network_config_dir`: where the network definitions live; the backend's default when unset.
  public var networkConfigDirectory: String?
  /// `network.default_network`: the network containers join when none is named (Podman's is `podman`).
  public var defaultNetwork: String?
  /// `network.default_subnet`: the default network's subnet, kept as written (host bits and all).
  public var defaultSubnet: IPNetwork?
  /// `network.default_subnet_pools`: where new networks without a subnet get one, tried in order.
  ///
  /// A later file's array replaces an earlier one's whole; `[]` is kept, and leaves no pool to allocate from.
  public var defaultSubnetPools: [SubnetPool]?
  /// `network.cni_plugin_dirs`: where CNI plugin binaries are searched, in order.
  ///
  /// The array may carry Podman's `{append = true}`; see ``listsExtendingDefaults`` and ``list(_:defaults:)``.
  public var cniPluginDirectories: [String]?
  /// `network.firewall_driver`: netavark's firewall driver; netavark picks one when unset.
  public var firewallDriver: String?
  /// `network.dns_bind_port`: the port of the DNS server on rootful bridges, 1...65535; 53 when unset.
  public var dnsBindPort: Int?
  /// `engine.helper_binaries_dir`: where helper binaries (netavark, aardvark-dns, ...) are searched, in order.
  ///
  /// The array may carry Podman's `{append = true}`; see ``listsExtendingDefaults`` and ``list(_:defaults:)``.
  public var helperBinariesDirectories: [String]?

  /// Every file that was read, in the order it was layered.
  public var files: [String]

  /// The string-array keys whose value goes after the caller's built-in list instead of replacing it.
  ///
  /// That is the case when `{append = true}` was in force for every file that set the key: Podman then appended
  /// to its compiled-in list, which this type does not know.
  public var listsExtendingDefaults: Set<ListKey>
  /// The string-array keys on which `{append = true}` is in force for files layered later.
  ///
  /// Podman's attribute is sticky: once a file appends, later files append to the key too, until one says
  /// `{append = false}`. Kept here so that ``merge(file:)`` after ``load(environment:searchPaths:)`` behaves so.
  public var listsAppending: Set<ListKey>

  /// A configuration with nothing set and no files read.
  public init(
    networkBackend: String? = nil, networkConfigDirectory: String? = nil, defaultNetwork: String? = nil,
    defaultSubnet: IPNetwork? = nil, defaultSubnetPools: [SubnetPool]? = nil, cniPluginDirectories: [String]? = nil,
    firewallDriver: String? = nil, dnsBindPort: Int? = nil, helperBinariesDirectories: [String]? = nil,
    files: [String] = [], listsExtendingDefaults: Set<ListKey> = [], listsAppending: Set<ListKey> = []
  ) {
    self.networkBackend = networkBackend
    self.networkConfigDirectory = networkConfigDirectory
    self.defaultNetwork = defaultNetwork
    self.defaultSubnet = defaultSubnet
    self.defaultSubnetPools = defaultSubnetPools
    self.cniPluginDirectories = cniPluginDirectories
    self.firewallDriver = firewallDriver
    self.dnsBindPort = dnsBindPort
    self.helperBinariesDirectories = helperBinariesDirectories
    self.files = files
    self.listsExtendingDefaults = listsExtendingDefaults
    self.listsAppending = listsAppending
  }

  /// A string-array key that takes Podman's `{append = true}` attribute; the raw value is its dotted TOML name.
  public enum ListKey: String, Sendable, Hashable, CaseIterable {
    /// ``ContainersConf/cniPluginDirectories``.
    case cniPluginDirectories = "network.cni_plugin_dirs"
    /// ``ContainersConf/helperBinariesDirectories``.
    case helperBinariesDirectories = "engine.helper_binaries_dir"
  }

  /// The value of a string-array key, as its property holds it.
  public subscript(list key: ListKey) -> [String]? {
    get {
      switch key {
      case .cniPluginDirectories: cniPluginDirectories
      case .helperBinariesDirectories: helperBinariesDirectories
      }
    }
    set {
      switch key {
      case .cniPluginDirectories: cniPluginDirectories = newValue
      case .helperBinariesDirectories: helperBinariesDirectories = newValue
      }
    }
  }

  /// The list Podman would use for `key`, given the caller's built-in list: `defaults` when no file set the key,
  /// `defaults` followed by the files' entries when they only appended, the files' entries otherwise.
  public func list(_ key: ListKey, defaults: [String]) -> [String] {
    guard let value = self[list: key] else { return defaults }
    return listsExtendingDefaults.contains(key) ? defaults + value : value
  }
}
