import CNIRuntime
import ContainerNetworkCore

extension CNINetworkBackend {
  /// The plugins a Podman network uses, and the other drivers' and IPAM plugins.
  static let reportedPlugins = [
    "bridge", "portmap", "firewall", "tuning", "dnsname", "host-local", "macvlan", "ipvlan", "dhcp", "static",
  ]

  public nonisolated func networkInfo() async -> NetworkInfo {
    var programs: [NetworkInfo.Program] = []
    for plugin in Self.reportedPlugins {
      let path = try? executor.findPlugin(plugin)
      // VERSION is the one question every plugin answers: the spec versions it speaks.
      let versions = path == nil ? nil : try? await executor.versionInfo(plugin).supportedVersions
      programs.append(
        NetworkInfo.Program(
          name: plugin, path: path, version: versions.map { "CNI \($0.joined(separator: ", "))" }))
    }
    var directories: [String: [String]] = [
      "config": [configuration.configDirectory], "plugins": configuration.pluginDirectories,
      "cache": [configuration.cacheDirectory],
    ]
    if let hostLocal = configuration.hostLocalDataDirectory { directories["host-local"] = [hostLocal] }
    if let host = configuration.hostNamespacePath { directories["host-netns"] = [host] }
    return NetworkInfo(
      backend: "cni", directories: directories, defaultNetwork: configuration.defaultNetworkName,
      defaultSubnet: configuration.defaultSubnet, subnetPools: configuration.subnetPools, programs: programs,
      configFiles: configuration.configurationFiles, origins: configuration.settingOrigins)
  }
}
