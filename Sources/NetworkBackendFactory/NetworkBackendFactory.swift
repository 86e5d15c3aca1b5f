import CNIBackend
import CNIRuntime
import ContainerNetworkCore
import NativeDataplane
import NetavarkBackend

#if canImport(Glibc)
  import Glibc
#endif

/// Turns ``NetworkSettings`` into the backend they describe: what `cnet` uses, and what an engine that embeds the
/// library calls to get the same backend.
public enum NetworkBackendFactory {
  /// The backend of `settings`.
  ///
  /// Nothing is read or run here: each backend reads its files when a method first needs them.
  public static func makeBackend(_ settings: NetworkSettings) throws(NetworkError) -> any ContainerNetwork {
    switch settings.backend {
    case .cni:
      return CNINetworkBackend(configuration: cniConfiguration(settings))
    case .netavark:
      return NetavarkNetworkBackend(configuration: netavarkConfiguration(settings))
    case .native:
      return NetavarkNetworkBackend(configuration: nativeConfiguration(settings))
    }
  }

  /// The first of `settings`' helper directories that holds an executable `name`, else the first directory.
  static func helper(_ name: String, _ settings: NetworkSettings) -> String {
    let candidates = settings.helperDirectories.map { "\($0)/\(name)" }
    return candidates.first { access($0, X_OK) == 0 } ?? candidates.first ?? name
  }

  /// The netavark backend's configuration for `settings`.
  public static func netavarkConfiguration(_ settings: NetworkSettings) -> NetavarkBackendConfiguration {
    var configuration = NetavarkBackendConfiguration(
      configDirectory: settings.effectiveConfigDirectory, runDirectory: settings.runDirectory,
      netavarkPath: helper("netavark", settings), aardvarkPath: helper("aardvark-dns", settings),
      timeout: settings.pluginTimeout, hostNamespacePath: settings.hostNamespacePath,
      defaultNetworkName: settings.defaultNetwork, defaultSubnet: settings.defaultSubnet,
      subnetPools: settings.subnetPools, logger: settings.logger)
    configuration.configurationFiles = settings.configFiles
    configuration.settingOrigins = settings.origins
    return configuration
  }

  /// The native backend's configuration for `settings`: the netavark backend's store and IPAM, with the in-process
  /// dataplane in place of the netavark program; it runs the same aardvark-dns from the same directory as netavark
  /// would (`<run dir>/aardvark-dns`), so both backends on one run directory share one DNS server.
  public static func nativeConfiguration(_ settings: NetworkSettings) -> NetavarkBackendConfiguration {
    var configuration = netavarkConfiguration(settings)
    configuration.backendName = "native"
    var native = NativeDataplaneConfiguration(
      stateDirectory: nativeStateDirectory(runDirectory: settings.runDirectory),
      hostNamespacePath: settings.hostNamespacePath, aardvarkPath: configuration.aardvarkPath,
      dnsConfigDirectory: "\(settings.runDirectory)/aardvark-dns", dnsPort: settings.dnsBindPort ?? 53,
      logger: settings.logger)
    // A command that may block its thread (the CLI's) ends after one call: no kept threads for it.
    native.overlapsOnThreads = settings.pluginWaiting != .callingThread
    configuration.dataplane = NativeDataplane(configuration: native)
    return configuration
  }

  /// Where the native dataplane keeps its state files, under the run directory (netavark's `--config`).
  public static func nativeStateDirectory(runDirectory: String) -> String {
    "\(runDirectory)/cnet-native"
  }

  /// The CNI backend's configuration for `settings`.
  public static func cniConfiguration(_ settings: NetworkSettings) -> CNIBackendConfiguration {
    var configuration = CNIBackendConfiguration(
      configDirectory: settings.effectiveConfigDirectory, pluginDirectories: settings.pluginDirectories,
      cacheDirectory: settings.cacheDirectory, hostLocalDataDirectory: settings.hostLocalDataDirectory,
      pluginTimeout: settings.pluginTimeout, hostNamespacePath: settings.hostNamespacePath, logger: settings.logger)
    configuration.defaultNetworkName = settings.defaultNetwork
    configuration.defaultSubnet = settings.defaultSubnet
    configuration.subnetPools = settings.subnetPools
    configuration.pluginWaiting = settings.pluginWaiting
    configuration.configurationFiles = settings.configFiles
    configuration.settingOrigins = settings.origins
    return configuration
  }

  /// `backend`'s own ``ContainerNetwork/networkInfo()`` with the helpers of `settings` (netavark, aardvark-dns)
  /// added, found in ``NetworkSettings/helperDirectories`` and asked for their versions.
  public static func networkInfo(of backend: any ContainerNetwork, settings: NetworkSettings) async -> NetworkInfo {
    var info = await backend.networkInfo()
    info.directories["helpers"] = settings.helperDirectories
    if settings.backend != .cni { info.directories["run"] = [settings.runDirectory] }
    info.programs.removeAll { $0.name == "netavark" || $0.name == "aardvark-dns" }
    for helper in ["netavark", "aardvark-dns"] {
      let candidates: [String] = settings.helperDirectories.map { "\($0)/\(helper)" }
      let path = candidates.first { candidate in access(candidate, X_OK) == 0 }
      let version = path == nil ? nil : await ProgramVersion.query(path!)
      info.programs.append(NetworkInfo.Program(name: helper, path: path, version: version))
    }
    return info
  }
}
