import CNIBackend
import ContainerNetworkCore
import ContainersConf
import Foundation
import NetavarkBackend
import NetworkAddress
import NetworkBackendFactory
import TestSupport
import Testing

/// The library's factory: Podman's defaults, containers.conf over them, the CNET_* variables over that, and the
/// backend it all describes. No root: nothing here runs a plugin.
@Suite struct NetworkBackendFactoryTests {
  /// No machine file may leak in: every search path points into the test's directory.
  static func searchPaths(_ root: TemporaryDirectory) -> ContainersConf.SearchPaths {
    ContainersConf.SearchPaths(
      distributionFile: root.appending("usr.conf"), systemFile: root.appending("etc.conf"),
      dropInDirectory: root.appending("conf.d"))
  }

  @Test func podmansDefaultsWithoutAnyFile() throws {
    let root = try TemporaryDirectory(prefix: "factory")
    defer { root.remove() }
    let settings = try NetworkSettings.load(environment: [:], searchPaths: Self.searchPaths(root))
    #expect(settings.backend == .cni)
    #expect(settings.effectiveConfigDirectory == "/etc/cni/net.d")
    #expect(settings.defaultNetwork == "podman" && settings.defaultSubnet == IPNetwork("10.88.0.0/16"))
    #expect(settings.subnetPools.first == SubnetPool(base: IPNetwork("10.89.0.0/16")!, size: 24))
    #expect(settings.configFiles == [] && settings.origins == [:])
  }

  @Test func containersConfThenTheVariables() throws {
    let root = try TemporaryDirectory(prefix: "factory")
    defer { root.remove() }
    let conf = root.appending("x.conf")
    try """
    [network]
    network_backend = "cni"
    network_config_dir = "\(root.appending("nets"))"
    default_network = "web"
    default_subnet = "10.77.0.0/16"
    default_subnet_pools = [{base = "10.150.0.0/16", size = 26}]
    cni_plugin_dirs = ["/opt/a", "/opt/b"]
    firewall_driver = "iptables"
    dns_bind_port = 5353
    unknown_key = "ignored, as Podman does"

    [engine]
    helper_binaries_dir = ["/opt/helpers"]
    """.write(toFile: conf, atomically: true, encoding: .utf8)
    var settings = try NetworkSettings.load(
      environment: ["CONTAINERS_CONF": conf], searchPaths: Self.searchPaths(root))
    #expect(settings.configFiles == [conf])
    #expect(settings.effectiveConfigDirectory == root.appending("nets"))
    #expect(settings.defaultNetwork == "web" && settings.defaultSubnet == IPNetwork("10.77.0.0/16"))
    #expect(settings.subnetPools == [SubnetPool(base: IPNetwork("10.150.0.0/16")!, size: 26)])
    #expect(settings.pluginDirectories == ["/opt/a", "/opt/b"])
    #expect(settings.helperDirectories == ["/opt/helpers"])
    #expect(settings.firewallDriver == "iptables" && settings.dnsBindPort == 5353)
    #expect(settings.origin(of: .networkConfigDirectory) == "containers.conf")

    settings = try NetworkSettings.load(
      environment: [
        "CONTAINERS_CONF": conf, "CNET_CONFIG_DIR": "/from/env", "CNET_PLUGIN_DIRS": "/x:/y",
        "CNET_PLUGIN_TIMEOUT": "2.5",
      ], searchPaths: Self.searchPaths(root))
    #expect(settings.effectiveConfigDirectory == "/from/env")
    #expect(settings.origin(of: .networkConfigDirectory) == "CNET_CONFIG_DIR")
    #expect(settings.pluginDirectories == ["/x", "/y"])
    #expect(settings.pluginTimeout == .milliseconds(2500))
    #expect(settings.origin(of: .defaultNetwork) == "containers.conf")
  }

  @Test(arguments: [
    ("[network]\nnetwork_backend = \"docker\"\n", "unknown network_backend docker"),
    ("[network\n", "line 1"),
  ])
  func aBadFileIsOneLineNamingIt(text: String, expected: String) throws {
    let root = try TemporaryDirectory(prefix: "factory")
    defer { root.remove() }
    let conf = root.appending("bad.conf")
    try text.write(toFile: conf, atomically: true, encoding: .utf8)
    let error = #expect(throws: NetworkError.self) {
      _ = try NetworkSettings.load(environment: ["CONTAINERS_CONF": conf], searchPaths: Self.searchPaths(root))
    }
    #expect(error?.message.contains(expected) == true, "\(error?.message ?? "")")
    #expect(error?.message.contains("\n") == false)
  }

  @Test(arguments: ["0x10", "inf", "-1", "0", "", "1e3"])
  func aBadTimeoutVariableIsRefused(value: String) throws {
    let root = try TemporaryDirectory(prefix: "factory")
    defer { root.remove() }
    let result = Result { () throws(NetworkError) in
      try NetworkSettings.load(environment: ["CNET_PLUGIN_TIMEOUT": value], searchPaths: Self.searchPaths(root))
    }
    if value.isEmpty {
      // Empty means unset, as for every CNET_* variable.
      #expect(try result.get().pluginTimeout == .seconds(60))
    } else {
      #expect(throws: NetworkError.self) { try result.get() }
    }
  }

  /// The backend the settings describe uses them: the default network's name and subnet, the pools' sizes.
  @Test func theBackendFollowsTheSettings() async throws {
    let root = try TemporaryDirectory(prefix: "factory")
    defer { root.remove() }
    var settings = NetworkSettings()
    settings.configDirectory = root.appending("nets")
    settings.cacheDirectory = root.appending("cache")
    settings.defaultNetwork = "web"
    settings.defaultSubnet = IPNetwork("10.77.0.0/16")!
    settings.subnetPools = [SubnetPool(base: IPNetwork("10.150.0.0/16")!, size: 26)]
    let backend = try NetworkBackendFactory.makeBackend(settings)
    #expect(backend.defaultNetworkName == "web")
    #expect(try await backend.inspect("web").subnets.first?.subnet == IPNetwork("10.77.0.0/16"))
    let created = try await backend.create(Network(name: "auto", dnsEnabled: false))
    #expect(created.subnets.first?.subnet == IPNetwork("10.150.0.0/26"))
    #expect(FileManager.default.fileExists(atPath: root.appending("nets/auto.conflist")))
    let info = await backend.networkInfo()
    #expect(info.backend == "cni" && info.directories["config"] == [root.appending("nets")])
  }

  @Test func netavarkSettingsMakeTheNetavarkBackend() async throws {
    try await withTemporaryDirectory { root in
      var settings = NetworkSettings()
      settings.backend = .netavark
      settings.configDirectory = root.appending("networks")
      settings.runDirectory = root.appending("run")
      let backend = try NetworkBackendFactory.makeBackend(settings)
      #expect(backend is NetavarkNetworkBackend)
      let podman = try await backend.inspect("podman")
      #expect(podman.id == "2f259bab93aaaaa2542ba43ef33eb990d0999ee1b9924b557b7be53c0b7a1bb9")
      _ = try await backend.create(Network(name: "json", subnets: [Subnet(subnet: IPNetwork("10.151.0.0/24")!)]))
      #expect(FileManager.default.fileExists(atPath: root.appending("networks/json.json")))
      let info = await NetworkBackendFactory.networkInfo(of: backend, settings: settings)
      #expect(info.backend == "netavark" && info.directories["run"] == [root.appending("run")])
      #expect(info.programs.filter { $0.name == "netavark" }.count == 1)
    }
  }
}
