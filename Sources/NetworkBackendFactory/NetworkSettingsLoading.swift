import ContainerNetworkCore
import ContainersConf
import NetworkAddress

#if canImport(Glibc)
  import Glibc
#endif

extension NetworkSettings {
  /// The variables ``load(environment:searchPaths:)`` reads, besides containers.conf's own.
  public static let environmentVariables = [
    "CNET_BACKEND", "CNET_CONFIG_DIR", "CNET_PLUGIN_DIRS", "CNET_CACHE_DIR", "CNET_RUN_DIR", "CNET_PLUGIN_TIMEOUT",
    "CNET_HOST_LOCAL_DIR", "CNET_HOST_NETNS",
  ]

  /// The variables that matter here, from the process (with getenv: a whole-environment copy costs more).
  public static func processEnvironment() -> [String: String] {
    var environment = ContainersConf.processEnvironment()
    for name in environmentVariables {
      if let value = getenv(name) { environment[name] = String(cString: value) }
    }
    return environment
  }

  /// Podman's defaults, then containers.conf in Podman's precedence (``ContainersConf/load(environment:searchPaths:)``),
  /// then the `CNET_*` variables: the settings `cnet` starts from before its flags, and that an engine gets when it
  /// asks for the same backend.
  public static func load(
    environment: [String: String] = processEnvironment(), searchPaths: ContainersConf.SearchPaths = .default
  ) throws(NetworkError) -> NetworkSettings {
    var settings = NetworkSettings()
    let conf: ContainersConf
    do {
      conf = try ContainersConf.load(environment: environment, searchPaths: searchPaths)
    } catch {
      throw NetworkError(.invalidArgument, error.description, causes: [error])
    }
    try settings.apply(conf)
    try settings.apply(environment: environment)
    return settings
  }

  /// Takes every key `conf` sets.
  mutating func apply(_ conf: ContainersConf) throws(NetworkError) {
    configFiles = conf.files
    let origin = "containers.conf"
    if let value = conf.networkBackend {
      guard let backend = Backend(rawValue: value) else {
        throw NetworkError(
          .invalidArgument, "containers.conf: unknown network_backend \(value): use cni or netavark")
      }
      self.backend = backend
      origins["network_backend"] = origin
    }
    if let value = conf.networkConfigDirectory {
      configDirectory = value
      origins["network_config_dir"] = origin
    }
    if conf.cniPluginDirectories != nil {
      pluginDirectories = conf.list(.cniPluginDirectories, defaults: pluginDirectories)
      origins["cni_plugin_dirs"] = origin
    }
    if conf.helperBinariesDirectories != nil {
      helperDirectories = conf.list(.helperBinariesDirectories, defaults: helperDirectories)
      origins["helper_binaries_dir"] = origin
    }
    if let value = conf.defaultNetwork {
      defaultNetwork = value
      origins["default_network"] = origin
    }
    if let value = conf.defaultSubnet {
      defaultSubnet = value
      origins["default_subnet"] = origin
    }
    if let value = conf.defaultSubnetPools {
      subnetPools = value
      origins["default_subnet_pools"] = origin
    }
    if let value = conf.firewallDriver {
      firewallDriver = value
      origins["firewall_driver"] = origin
    }
    if let value = conf.dnsBindPort {
      dnsBindPort = value
      origins["dns_bind_port"] = origin
    }
  }

  /// Takes the `CNET_*` variables that are set and not empty.
  mutating func apply(environment: [String: String]) throws(NetworkError) {
    func value(_ name: String) -> String? {
      guard let text = environment[name], !text.isEmpty else { return nil }
      return text
    }
    if let text = value("CNET_BACKEND") {
      guard let backend = Backend(rawValue: text) else {
        throw NetworkError(.invalidArgument, "CNET_BACKEND: unknown backend \(text): use cni or netavark")
      }
      self.backend = backend
      origins["network_backend"] = "CNET_BACKEND"
    }
    if let text = value("CNET_CONFIG_DIR") {
      configDirectory = text
      origins["network_config_dir"] = "CNET_CONFIG_DIR"
    }
    if let text = value("CNET_PLUGIN_DIRS") {
      pluginDirectories = text.split(separator: ":").map(String.init)
      origins["cni_plugin_dirs"] = "CNET_PLUGIN_DIRS"
    }
    if let text = value("CNET_CACHE_DIR") {
      cacheDirectory = text
      origins["cache_dir"] = "CNET_CACHE_DIR"
    }
    if let text = value("CNET_RUN_DIR") {
      runDirectory = text
      origins["run_dir"] = "CNET_RUN_DIR"
    }
    if let text = value("CNET_PLUGIN_TIMEOUT") {
      guard let timeout = Self.timeout(seconds: text) else {
        throw NetworkError(
          .invalidArgument, "CNET_PLUGIN_TIMEOUT \(text) is not a number of seconds from 0.001 to 31536000")
      }
      pluginTimeout = timeout
      origins["plugin_timeout"] = "CNET_PLUGIN_TIMEOUT"
    }
    if let text = value("CNET_HOST_LOCAL_DIR") {
      hostLocalDataDirectory = text
      origins["host_local_dir"] = "CNET_HOST_LOCAL_DIR"
    }
    if let text = value("CNET_HOST_NETNS") {
      hostNamespacePath = text
      origins["host_netns"] = "CNET_HOST_NETNS"
    }
  }

  /// The longest plugin timeout: a year, longer than any plugin should run, far below what milliseconds in an
  /// `Int64` hold.
  public static let maximumPluginTimeoutSeconds: Double = 365 * 24 * 3600

  /// Decimal seconds (`60`, `2.5`), positive and at most a year; nil for anything else. Double's own parser also
  /// reads `0x10` as 16 and accepts `inf` and `nan`.
  public static func timeout(seconds text: String) -> Duration? {
    guard let seconds = decimalSeconds(text), seconds > 0, seconds <= maximumPluginTimeoutSeconds else { return nil }
    return .milliseconds(Int64((seconds * 1000).rounded(.up)))
  }

  /// Digits with an optional fraction, as a number; nil for any other text.
  public static func decimalSeconds(_ text: String) -> Double? {
    let parts = text.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
    let decimal = parts.allSatisfy { !$0.isEmpty && $0.utf8.allSatisfy { (48...57).contains($0) } }
    return decimal ? Double(text) : nil
  }
}
