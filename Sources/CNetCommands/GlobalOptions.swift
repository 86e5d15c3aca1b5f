import ArgumentParser
import CNIRuntime
import ContainerNetworkCore
import Dispatch
import FoundationEssentials
import Logging
import NetworkBackendFactory

#if canImport(Glibc)
  import Glibc
#endif

/// Options every subcommand accepts. Each one overrides the same setting of containers.conf and of the `CNET_*`
/// variables (``NetworkSettings/load(environment:searchPaths:)``).
struct GlobalOptions: ParsableArguments {
  @Option(name: CommandFlag.backend.names, help: CommandFlag.backend.help) var backend: String?
  @Option(name: CommandFlag.configDir.names, help: CommandFlag.configDir.help) var configDir: String?
  @Option(name: CommandFlag.pluginDir.names, help: CommandFlag.pluginDir.help) var pluginDirs: [String] = []
  @Option(name: CommandFlag.cacheDir.names, help: CommandFlag.cacheDir.help) var cacheDir: String?
  @Option(name: CommandFlag.runDir.names, help: CommandFlag.runDir.help) var runDir: String?
  // Text, not Double: Double's own parser reads 0x10 as 16 and accepts inf and nan.
  @Option(name: CommandFlag.pluginTimeout.names, help: CommandFlag.pluginTimeout.help) var pluginTimeout: String?
  @Option(name: CommandFlag.logLevel.names, help: CommandFlag.logLevel.help) var logLevel: String?

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

/// The global flags as given (nil: not given), whoever parsed them: ``GlobalOptions`` or ``AttachmentInvocation``.
struct GlobalSettings: Equatable, Sendable {
  var backend: String?
  var configDir: String?
  var pluginDirs: [String] = []
  var cacheDir: String?
  var runDir: String?
  var pluginTimeout: String?
  var logLevel: String?

  /// What is wrong with the flags, as the one line the user sees; nil when they are valid.
  var problem: String? {
    if let backend, NetworkSettings.Backend(rawValue: backend) == nil {
      return "unknown backend \(backend): use cni, netavark or native"
    }
    if let pluginTimeout, let problem = NetworkSettings.timeoutProblem(pluginTimeout, named: "--plugin-timeout") {
      return problem
    }
    if Self.level(named: effectiveLogLevel) == nil { return "--log-level must be error, warn, info or debug" }
    return nil
  }

  /// The level from the flag, else CNET_LOG_LEVEL, else warn.
  var effectiveLogLevel: String { logLevel ?? env("CNET_LOG_LEVEL") ?? "warn" }

  /// A switch rather than a dictionary: a command that starts builds no table for one lookup.
  static func level(named name: String) -> Logger.Level? {
    switch name {
    case "error": .error
    case "warn", "warning": .warning
    case "info": .info
    case "debug": .debug
    case "trace": .trace
    default: nil
    }
  }

  var logger: Logger {
    var logger = Logger(label: "cnet") { _ in StandardErrorLogHandler() }
    logger.logLevel = Self.level(named: effectiveLogLevel) ?? .warning
    return logger
  }

  /// The library's settings (Podman's defaults, containers.conf, the `CNET_*` variables) with these flags over
  /// them.
  // Not inlined: inlined into an async command, Swift 6.3.1's optimizer crashed while splitting its coroutine.
  @inline(never)
  func networkSettings() throws -> NetworkSettings {
    var settings = try NetworkSettings.load()
    let backend = backend.flatMap(NetworkSettings.Backend.init(rawValue:))
    settings.set(\.backend, to: backend, setting: .networkBackend, from: "--backend")
    settings.set(\.configDirectory, to: configDir, setting: .networkConfigDirectory, from: "--config-dir")
    let directories = pluginDirs.isEmpty ? nil : pluginDirs
    settings.set(\.pluginDirectories, to: directories, setting: .cniPluginDirectories, from: "--plugin-dir")
    settings.set(\.cacheDirectory, to: cacheDir, setting: .cacheDirectory, from: "--cache-dir")
    settings.set(\.runDirectory, to: runDir, setting: .runDirectory, from: "--run-dir")
    let timeout = pluginTimeout.flatMap(NetworkSettings.timeout(seconds:))
    settings.set(\.pluginTimeout, to: timeout, setting: .pluginTimeout, from: "--plugin-timeout")
    settings.logger = logger
    // cnet runs each command's task on its main thread, which is the command's alone (CNet.runBlocking).
    settings.pluginWaiting = .callingThread
    return settings
  }

  /// The backend these settings describe, from the library's factory.
  @inline(never)
  func makeBackend() throws -> any ContainerNetwork {
    try NetworkBackendFactory.makeBackend(try networkSettings())
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
