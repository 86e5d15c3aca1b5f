import ArgumentParser
import CNIBackend
import ContainerNetworkCore
import Dispatch
import FoundationEssentials
import Logging

#if canImport(Glibc)
  import Glibc
#endif

/// Options every subcommand accepts. Each default can also come from an environment variable.
struct GlobalOptions: ParsableArguments {
  @Option(help: "Network backend: cni or netavark (env CNET_BACKEND).")
  var backend: String = GlobalSettings.defaultBackend

  @Option(name: .customLong("config-dir"), help: "Network config directory (env CNET_CONFIG_DIR).")
  var configDir: String = GlobalSettings.defaultConfigDir

  @Option(
    name: .customLong("plugin-dir"),
    help: "CNI plugin directory; repeat for several (env CNET_PLUGIN_DIRS, colon-separated).")
  var pluginDirs: [String] = []

  @Option(name: .customLong("cache-dir"), help: "CNI result cache directory (env CNET_CACHE_DIR).")
  var cacheDir: String = GlobalSettings.defaultCacheDir

  @Option(name: .customLong("run-dir"), help: "netavark state directory (env CNET_RUN_DIR).")
  var runDir: String = GlobalSettings.defaultRunDir

  // Text, not Double: Double's own parser reads 0x10 as 16 and accepts inf and nan (``GlobalSettings/seconds(_:)``).
  @Option(
    name: .customLong("plugin-timeout"), help: "Seconds a plugin may run before it is killed (env CNET_PLUGIN_TIMEOUT)."
  )
  var pluginTimeout: String = GlobalSettings.defaultPluginTimeout

  @Option(name: .customLong("log-level"), help: "error, warn, info or debug (env CNET_LOG_LEVEL).")
  var logLevel: String = GlobalSettings.defaultLogLevel

  /// The parsed values.
  var settings: GlobalSettings {
    GlobalSettings(
      backend: backend, configDir: configDir, pluginDirs: pluginDirs, cacheDir: cacheDir, runDir: runDir,
      pluginTimeout: pluginTimeout, logLevel: logLevel)
  }

  func validate() throws {
    if let problem = settings.problem { throw ValidationError(problem) }
  }

  /// The backend these options describe.
  func makeBackend() throws -> any ContainerNetwork { try settings.makeBackend() }
}

/// The global options as plain values, whoever parsed them: ``GlobalOptions`` or ``AttachmentInvocation``.
struct GlobalSettings: Equatable, Sendable {
  var backend = defaultBackend
  var configDir = defaultConfigDir
  var pluginDirs: [String] = []
  var cacheDir = defaultCacheDir
  var runDir = defaultRunDir
  var pluginTimeout = defaultPluginTimeout
  var logLevel = defaultLogLevel

  static var defaultBackend: String { env("CNET_BACKEND") ?? "cni" }
  static var defaultConfigDir: String { env("CNET_CONFIG_DIR") ?? CNIBackendConfiguration.defaultConfigDirectory }
  static var defaultCacheDir: String { env("CNET_CACHE_DIR") ?? "/var/lib/cni" }
  static var defaultRunDir: String { env("CNET_RUN_DIR") ?? "/run/containers/networks" }
  static var defaultPluginTimeout: String { env("CNET_PLUGIN_TIMEOUT") ?? "60" }
  static var defaultLogLevel: String { env("CNET_LOG_LEVEL") ?? "warn" }

  /// A year: longer than any plugin should run, far below what milliseconds in an `Int64` hold.
  static let maximumPluginTimeout: Double = 365 * 24 * 3600

  /// What is wrong with these values, as the one line the user sees; nil when they are valid.
  var problem: String? {
    if !["cni", "netavark"].contains(backend) { return "unknown backend \(backend): use cni or netavark" }
    guard let timeout = Self.seconds(pluginTimeout) else {
      return "--plugin-timeout \(pluginTimeout) is not a number of seconds such as 60 or 2.5"
    }
    if !(timeout > 0) { return "--plugin-timeout must be positive" }
    // Bounded, so that the conversion to milliseconds cannot overflow.
    if !(timeout <= Self.maximumPluginTimeout) {
      return "--plugin-timeout must be at most \(Int(Self.maximumPluginTimeout)) seconds"
    }
    if Self.levels[logLevel] == nil { return "--log-level must be error, warn, info or debug" }
    return nil
  }

  /// Decimal seconds, digits with an optional fraction; nil for anything else (hex, exponents, signs, inf, nan).
  static func seconds(_ text: String) -> Double? {
    let parts = text.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
    let decimal = parts.allSatisfy { !$0.isEmpty && $0.utf8.allSatisfy { (48...57).contains($0) } }
    return decimal ? Double(text) : nil
  }

  /// host-local's reservation directory; only the environment sets it (CNET_HOST_LOCAL_DIR), for tests and benchmarks.
  var hostLocalDirectory: String? { env("CNET_HOST_LOCAL_DIR") }

  /// A namespace to run plugins in instead of ours (CNET_HOST_NETNS), like Podman's rootless network namespace.
  var hostNamespace: String? { env("CNET_HOST_NETNS") }

  static let levels: [String: Logger.Level] = [
    "error": .error, "warn": .warning, "warning": .warning, "info": .info, "debug": .debug, "trace": .trace,
  ]

  var logger: Logger {
    var logger = Logger(label: "cnet") { _ in StandardErrorLogHandler() }
    logger.logLevel = Self.levels[logLevel] ?? .warning
    return logger
  }

  var pluginDirectories: [String] {
    if !pluginDirs.isEmpty { return pluginDirs }
    if let list = env("CNET_PLUGIN_DIRS"), !list.isEmpty { return list.split(separator: ":").map(String.init) }
    return CNIBackendConfiguration.defaultPluginDirectories
  }

  /// The backend these settings describe.
  func makeBackend() throws -> any ContainerNetwork {
    guard backend == "cni" else {
      throw NetworkError(
        .notSupported, "the netavark backend is not available in this version of cnet; use --backend cni")
    }
    var configuration = CNIBackendConfiguration(
      configDirectory: configDir, pluginDirectories: pluginDirectories, cacheDirectory: cacheDir,
      hostLocalDataDirectory: hostLocalDirectory,
      pluginTimeout: .milliseconds(Int64((Self.seconds(pluginTimeout) ?? 60) * 1000)), hostNamespacePath: hostNamespace,
      logger: logger)
    // cnet runs each command's task on its main thread, which is the command's alone (CNet.runBlocking).
    configuration.pluginWaiting = .callingThread
    return CNINetworkBackend(configuration: configuration)
  }
}

private func env(_ name: String) -> String? {
  // getenv, not ProcessInfo.environment: that copies the whole environment into a dictionary on every call.
  guard let value = getenv(name) else { return nil }
  let text = String(cString: value)
  return text.isEmpty ? nil : text
}

/// Log lines on stderr in the format Podman's logrus prints when stderr is not a terminal, so they never mix with
/// JSON on stdout.
struct StandardErrorLogHandler: LogHandler {
  var metadata: Logger.Metadata = [:]
  var logLevel: Logger.Level = .warning

  subscript(metadataKey key: String) -> Logger.Metadata.Value? {
    get { metadata[key] }
    set { metadata[key] = newValue }
  }

  func log(event: LogEvent) {
    let level =
      switch event.level {
      case .trace, .debug: "debug"
      case .info, .notice: "info"
      case .warning: "warning"
      case .error, .critical: "error"
      }
    let time = String(Timestamp.now().description.prefix(19)) + "Z"
    let message = "\(event.message)".replacing("\"", with: "\\\"")
    writeStandardError("time=\"\(time)\" level=\(level) msg=\"\(message)\"\n")
  }
}
