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
    if let value = conf.networkBackend {
      guard let backend = Backend(rawValue: value) else {
        throw NetworkError(
          .invalidArgument, "containers.conf: unknown network_backend \(value): use cni, netavark or native")
      }
      set(\.backend, to: backend, setting: .networkBackend, from: "containers.conf")
    }
    set(\.configDirectory, to: conf.networkConfigDirectory, setting: .networkConfigDirectory, from: "containers.conf")
    if conf.cniPluginDirectories != nil {
      let directories = conf.list(.cniPluginDirectories, defaults: pluginDirectories)
      set(\.pluginDirectories, to: directories, setting: .cniPluginDirectories, from: "containers.conf")
    }
    if conf.helperBinariesDirectories != nil {
      let directories = conf.list(.helperBinariesDirectories, defaults: helperDirectories)
      set(\.helperDirectories, to: directories, setting: .helperBinariesDirectory, from: "containers.conf")
    }
    set(\.defaultNetwork, to: conf.defaultNetwork, setting: .defaultNetwork, from: "containers.conf")
    set(\.defaultSubnet, to: conf.defaultSubnet, setting: .defaultSubnet, from: "containers.conf")
    set(\.subnetPools, to: conf.defaultSubnetPools, setting: .defaultSubnetPools, from: "containers.conf")
    set(\.firewallDriver, to: conf.firewallDriver, setting: .firewallDriver, from: "containers.conf")
    set(\.dnsBindPort, to: conf.dnsBindPort, setting: .dnsBindPort, from: "containers.conf")
  }

  /// Takes the `CNET_*` variables that are set and not empty.
  mutating func apply(environment: [String: String]) throws(NetworkError) {
    func value(_ name: String) -> String? {
      guard let text = environment[name], !text.isEmpty else { return nil }
      return text
    }
    if let text = value("CNET_BACKEND") {
      guard let backend = Backend(rawValue: text) else {
        throw NetworkError(.invalidArgument, "CNET_BACKEND: unknown backend \(text): use cni, netavark or native")
      }
      set(\.backend, to: backend, setting: .networkBackend, from: "CNET_BACKEND")
    }
    if let text = value("CNET_PLUGIN_TIMEOUT") {
      if let problem = Self.timeoutProblem(text, named: "CNET_PLUGIN_TIMEOUT") {
        throw NetworkError(.invalidArgument, problem)
      }
      let timeout = Self.timeout(seconds: text)
      set(\.pluginTimeout, to: timeout, setting: .pluginTimeout, from: "CNET_PLUGIN_TIMEOUT")
    }
    let directories = value("CNET_PLUGIN_DIRS").map { $0.split(separator: ":").map(String.init) }
    set(\.pluginDirectories, to: directories, setting: .cniPluginDirectories, from: "CNET_PLUGIN_DIRS")
    set(\.configDirectory, to: value("CNET_CONFIG_DIR"), setting: .networkConfigDirectory, from: "CNET_CONFIG_DIR")
    set(\.cacheDirectory, to: value("CNET_CACHE_DIR"), setting: .cacheDirectory, from: "CNET_CACHE_DIR")
    set(\.runDirectory, to: value("CNET_RUN_DIR"), setting: .runDirectory, from: "CNET_RUN_DIR")
    set(
      \.hostLocalDataDirectory, to: value("CNET_HOST_LOCAL_DIR"), setting: .hostLocalDirectory,
      from: "CNET_HOST_LOCAL_DIR"
    )
    set(\.hostNamespacePath, to: value("CNET_HOST_NETNS"), setting: .hostNamespace, from: "CNET_HOST_NETNS")
  }

  /// Sets `field` to `value` and notes `origin` for `setting`, when there is a value.
  public mutating func set<Value>(
    _ field: WritableKeyPath<NetworkSettings, Value>, to value: Value?, setting: NetworkSetting, from origin: String
  ) {
    guard let value else { return }
    self[keyPath: field] = value
    origins[setting] = origin
  }

  /// The same for an optional field.
  public mutating func set<Value>(
    _ field: WritableKeyPath<NetworkSettings, Value?>, to value: Value?, setting: NetworkSetting, from origin: String
  ) {
    guard let value else { return }
    self[keyPath: field] = value
    origins[setting] = origin
  }

  /// The longest plugin timeout: a year, longer than any plugin should run, far below what milliseconds in an
  /// `Int64` hold.
  public static let maximumPluginTimeoutSeconds: Double = 365 * 24 * 3600

  /// Decimal seconds (`60`, `2.5`), positive and at most a year; nil for anything else. Double's own parser also
  /// reads `0x10` as 16 and accepts `inf` and `nan`.
  public static func timeout(seconds text: String) -> Duration? {
    guard timeoutProblem(text, named: "") == nil, let seconds = decimalSeconds(text) else { return nil }
    return .milliseconds(Int64((seconds * 1000).rounded(.up)))
  }

  /// Why `text` is no plugin timeout, as one line about the setting `name` (`--plugin-timeout`,
  /// `CNET_PLUGIN_TIMEOUT`); nil when it is one.
  public static func timeoutProblem(_ text: String, named name: String) -> String? {
    guard let seconds = decimalSeconds(text) else {
      return "\(name) \(text) is not a number of seconds such as 60 or 2.5"
    }
    if !(seconds > 0) { return "\(name) must be positive" }
    if !(seconds <= maximumPluginTimeoutSeconds) {
      return "\(name) must be at most \(Int(maximumPluginTimeoutSeconds)) seconds"
    }
    return nil
  }

  /// Digits with an optional fraction, as a number; nil for any other text.
  static func decimalSeconds(_ text: String) -> Double? {
    let parts = text.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
    let decimal = parts.allSatisfy { !$0.isEmpty && $0.utf8.allSatisfy { (48...57).contains($0) } }
    return decimal ? Double(text) : nil
  }
}
