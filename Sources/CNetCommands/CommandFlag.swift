import ArgumentParser

/// The flags with a value that `setup`, `teardown`, `run` and the global options take: their one definition.
/// ArgumentParser's declarations (``GlobalOptions``, ``AttachmentOptions``, ``Run``) take their names and help from
/// here, and the fast reader of plain `setup`/`teardown` lines (``AttachmentInvocation/parse(_:)``) reads with it, so
/// that no spelling is written twice; `AttachmentInvocationTests.flagsAreArgumentParsersFlags` checks ArgumentParser's
/// dump against this table.
enum CommandFlag: Int, CaseIterable, Sendable {
  case backend, configDir, pluginDir, cacheDir, runDir, pluginTimeout, logLevel
  case containerID, containerName, network, publish

  /// Global options may also come before the subcommand (`movingGlobalOptions`).
  var isGlobal: Bool { rawValue <= CommandFlag.logLevel.rawValue }

  var isRepeating: Bool { self == .pluginDir || self == .network || self == .publish }

  /// ArgumentParser's names for the option, from ``spellings``.
  var names: NameSpecification {
    NameSpecification(
      spellings.map { spelling -> NameSpecification.Element in
        spelling.hasPrefix("--") ? .customLong(String(spelling.dropFirst(2))) : .customShort(spelling.last!)
      })
  }

  /// The option's help.
  var help: ArgumentHelp {
    switch self {
    case .backend:
      "Network backend: cni, netavark or native (default: network_backend of containers.conf, env CNET_BACKEND)."
    case .configDir: "Network config directory (default: network_config_dir of containers.conf, env CNET_CONFIG_DIR)."
    case .pluginDir:
      "CNI plugin directory; repeat for several (default: cni_plugin_dirs of containers.conf, env CNET_PLUGIN_DIRS, colon-separated)."
    case .cacheDir: "CNI result cache directory (env CNET_CACHE_DIR)."
    case .runDir: "netavark state directory (env CNET_RUN_DIR)."
    case .pluginTimeout: "Seconds a plugin may run before it is killed (default 60, env CNET_PLUGIN_TIMEOUT)."
    case .logLevel: "error, warn, info or debug (env CNET_LOG_LEVEL)."
    case .containerID: "The container's ID."
    case .containerName: "The container's name (its DNS name)."
    case .network: "NAME[:ip=IP,mac=MAC,alias=NAME,interface_name=IF]; repeat for several."
    case .publish: "[[HOST_IP:]HOST_PORT[-END]:]CONTAINER_PORT[-END][/PROTOCOL]; repeat for several."
    }
  }

  /// Every spelling of the option; none of them is a flag without a value.
  var spellings: [String] {
    switch self {
    case .backend: ["--backend"]
    case .configDir: ["--config-dir"]
    case .pluginDir: ["--plugin-dir"]
    case .cacheDir: ["--cache-dir"]
    case .runDir: ["--run-dir"]
    case .pluginTimeout: ["--plugin-timeout"]
    case .logLevel: ["--log-level"]
    case .containerID: ["--container-id"]
    case .containerName: ["--container-name"]
    case .network: ["--network"]
    case .publish: ["-p", "--publish"]
    }
  }

  /// The option `spelling` names. A switch that repeats ``spellings`` rather than a dictionary or a search of
  /// `allCases`: either makes the runtime build generic metadata and look up conformances at start-up, and
  /// searching `allCases` measured 0.3–0.4 ms more per `cnet teardown` (hyperfine, 400 runs). The test
  /// `flagsAreArgumentParsersFlags` holds the two tables together.
  init?(spelling: String) {
    switch spelling {
    case "--backend": self = .backend
    case "--config-dir": self = .configDir
    case "--plugin-dir": self = .pluginDir
    case "--cache-dir": self = .cacheDir
    case "--run-dir": self = .runDir
    case "--plugin-timeout": self = .pluginTimeout
    case "--log-level": self = .logLevel
    case "--container-id": self = .containerID
    case "--container-name": self = .containerName
    case "--network": self = .network
    case "-p", "--publish": self = .publish
    default: return nil
    }
  }
}
