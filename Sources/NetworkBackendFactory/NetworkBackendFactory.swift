import CNIBackend
import CNIRuntime
import ContainerNetworkCore

#if canImport(Glibc)
  import Glibc
#endif

/// Turns ``NetworkSettings`` into the backend they describe: what `cnet` uses, and what an engine that embeds the
/// library calls to get the same backend.
public enum NetworkBackendFactory {
  /// The backend of `settings`.
  ///
  /// - Throws: ``NetworkError/Code/notSupported`` for a backend this version does not have yet (netavark).
  public static func makeBackend(_ settings: NetworkSettings) throws(NetworkError) -> any ContainerNetwork {
    switch settings.backend {
    case .cni:
      return CNINetworkBackend(configuration: cniConfiguration(settings))
    case .netavark:
      throw NetworkError(
        .notSupported, "the netavark backend is not available in this version of cnet; use --backend cni")
    }
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
    for helper in ["netavark", "aardvark-dns"] {
      let candidates: [String] = settings.helperDirectories.map { "\($0)/\(helper)" }
      let path = candidates.first { candidate in access(candidate, X_OK) == 0 }
      let version = path == nil ? nil : await ProgramVersion.query(path!)
      info.programs.append(NetworkInfo.Program(name: helper, path: path, version: version))
    }
    return info
  }
}
