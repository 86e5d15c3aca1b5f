import NetworkAddress

/// What a backend is and what it works with: the answer to `cnet info` (and the network part of `podman info`).
public struct NetworkInfo: Hashable, Sendable, Codable {
  /// A program the backend runs, where it was found, and what it says its version is.
  public struct Program: Hashable, Sendable, Codable {
    public var name: String
    /// nil when it is in none of the directories searched.
    public var path: String?
    /// What the program reports (`netavark 1.4.0`; for a CNI plugin, the spec versions it speaks); nil when it was
    /// not found or did not answer.
    public var version: String?

    public init(name: String, path: String?, version: String?) {
      self.name = name
      self.path = path
      self.version = version
    }
  }

  /// `cni`, `netavark`, …
  public var backend: String
  /// Every directory the backend uses, by role (`config`, `cache`, `run`, `plugins`, `helpers`, …), in order.
  public var directories: [String: [String]]
  public var defaultNetwork: String
  public var defaultSubnet: IPNetwork
  public var subnetPools: [SubnetPool]
  /// The plugins or helpers the backend runs.
  public var programs: [Program]
  /// The containers.conf files that were read, in order.
  public var configFiles: [String]
  /// Where each setting came from (`containers.conf /etc/containers/containers.conf`, `CNET_CONFIG_DIR`,
  /// `--config-dir`), by setting; a setting that is absent has its default.
  public var origins: [NetworkSetting: String]

  public init(
    backend: String, directories: [String: [String]], defaultNetwork: String, defaultSubnet: IPNetwork,
    subnetPools: [SubnetPool], programs: [Program] = [], configFiles: [String] = [],
    origins: [NetworkSetting: String] = [:]
  ) {
    self.backend = backend
    self.directories = directories
    self.defaultNetwork = defaultNetwork
    self.defaultSubnet = defaultSubnet
    self.subnetPools = subnetPools
    self.programs = programs
    self.configFiles = configFiles
    self.origins = origins
  }

  enum CodingKeys: String, CodingKey {
    case backend, directories, programs, origins
    case defaultNetwork = "default_network"
    case defaultSubnet = "default_subnet"
    case subnetPools = "default_subnet_pools"
    case configFiles = "config_files"
  }
}

extension SubnetPool: Codable {
  enum CodingKeys: String, CodingKey { case base, size }

  public init(from decoder: any Decoder) throws {
    let c = try decoder.container(keyedBy: CodingKeys.self)
    self.init(base: try c.decode(IPNetwork.self, forKey: .base), size: try c.decode(Int.self, forKey: .size))
  }

  public func encode(to encoder: any Encoder) throws {
    var c = encoder.container(keyedBy: CodingKeys.self)
    try c.encode(base, forKey: .base)
    try c.encode(size, forKey: .size)
  }
}
