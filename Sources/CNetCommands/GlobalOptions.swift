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
  var backend: String = env("CNET_BACKEND") ?? "cni"

  @Option(name: .customLong("config-dir"), help: "Network config directory (env CNET_CONFIG_DIR).")
  var configDir: String = env("CNET_CONFIG_DIR") ?? CNIBackendConfiguration.defaultConfigDirectory

  @Option(
    name: .customLong("plugin-dir"),
    help: "CNI plugin directory; repeat for several (env CNET_PLUGIN_DIRS, colon-separated).")
  var pluginDirs: [String] = []

  @Option(name: .customLong("cache-dir"), help: "CNI result cache directory (env CNET_CACHE_DIR).")
  var cacheDir: String = env("CNET_CACHE_DIR") ?? "/var/lib/cni"

  @Option(name: .customLong("run-dir"), help: "netavark state directory (env CNET_RUN_DIR).")
  var runDir: String = env("CNET_RUN_DIR") ?? "/run/containers/networks"

  @Option(
    name: .customLong("plugin-timeout"), help: "Seconds a plugin may run before it is killed (env CNET_PLUGIN_TIMEOUT)."
  )
  var pluginTimeout: Double = Double(env("CNET_PLUGIN_TIMEOUT") ?? "") ?? 60

  @Option(name: .customLong("log-level"), help: "error, warn, info or debug (env CNET_LOG_LEVEL).")
  var logLevel: String = env("CNET_LOG_LEVEL") ?? "warn"

  /// host-local's reservation directory; only the environment sets it (CNET_HOST_LOCAL_DIR), for tests and benchmarks.
  var hostLocalDirectory: String? { env("CNET_HOST_LOCAL_DIR") }

  /// A namespace to run plugins in instead of ours (CNET_HOST_NETNS), like Podman's rootless network namespace.
  var hostNamespace: String? { env("CNET_HOST_NETNS") }

  func validate() throws {
    guard ["cni", "netavark"].contains(backend) else {
      throw ValidationError("unknown backend \(backend): use cni or netavark")
    }
    guard pluginTimeout > 0 else { throw ValidationError("--plugin-timeout must be positive") }
    guard Self.levels[logLevel] != nil else { throw ValidationError("--log-level must be error, warn, info or debug") }
  }

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

  /// The backend these options describe.
  func makeBackend() throws -> any ContainerNetwork {
    guard backend == "cni" else {
      throw NetworkError(
        .notSupported, "the netavark backend is not available in this version of cnet; use --backend cni")
    }
    let configuration = CNIBackendConfiguration(
      configDirectory: configDir, pluginDirectories: pluginDirectories, cacheDirectory: cacheDir,
      hostLocalDataDirectory: hostLocalDirectory,
      pluginTimeout: .milliseconds(Int64(pluginTimeout * 1000)), hostNamespacePath: hostNamespace, logger: logger)
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
