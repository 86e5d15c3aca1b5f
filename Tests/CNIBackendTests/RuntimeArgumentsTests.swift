import CNIRuntime
import ContainerNetworkCore
import Foundation
import NetworkAddress
import OrderedJSON
import Testing

@testable import CNIBackend

/// What setup hands the CNI runtime: CNI_ARGS, capability arguments and the in-memory config adjustments.
@Suite struct RuntimeArgumentsTests {
  let backend = CNINetworkBackend(
    configuration: CNIBackendConfiguration(
      configDirectory: "/nonexistent", cacheDirectory: "/tmp/unused-cache", hostLocalDataDirectory: "/tmp/ipam-data"))

  @Test func cniArgsFollowPodman() {
    let options = NetworkOptions(containerID: "c1", containerName: "web")
    let one = backend.runtimeConfiguration(
      namespacePath: "/run/netns/x", options: options, network: "n",
      perNetwork: PerNetworkOptions(
        staticIPs: [IPAddress("10.89.0.5")!], staticMAC: MACAddress("02:42:ac:11:00:99"), interfaceName: "eth0"))
    #expect(
      one.args.map { "\($0.key)=\($0.value)" } == [
        "IgnoreUnknown=1", "K8S_POD_NAME=web", "MAC=02:42:ac:11:00:99", "IP=10.89.0.5",
      ])
    #expect(one.capabilityArgs["mac"] == .string("02:42:ac:11:00:99"))
    #expect(one.capabilityArgs["ips"] == nil)
    #expect(one.ifName == "eth0" && one.netns == "/run/netns/x" && one.containerID == "c1")

    let two = backend.runtimeConfiguration(
      namespacePath: "/run/netns/x", options: NetworkOptions(containerID: "c1"), network: "n",
      perNetwork: PerNetworkOptions(
        staticIPs: [IPAddress("10.89.0.5")!, IPAddress("fd00::5")!], aliases: ["www", "api"], interfaceName: "eth1"))
    // Two IPs go through the ips capability, not IP=; without a name the pod name is the container ID.
    #expect(two.args.map { "\($0.key)=\($0.value)" } == ["IgnoreUnknown=1", "K8S_POD_NAME=c1"])
    #expect(two.capabilityArgs["ips"] == ["10.89.0.5", "fd00::5"])
    #expect(two.capabilityArgs["aliases"] == ["n": ["www", "api"]])
  }

  @Test func portMappingsAreExpandedPerProtocolWithTheHostIPKept() {
    let entries = CNINetworkBackend.portMappingsCapability([
      PortMapping(hostIP: "127.0.0.1", containerPort: 80, hostPort: 8080, range: 3, protocol: "tcp,udp"),
      PortMapping(containerPort: 53, hostPort: 5353, protocol: "sctp"),
    ])
    let text = entries.map(\.jsonString)
    #expect(
      text == [
        #"{"hostPort":8080,"containerPort":80,"protocol":"tcp","hostIP":"127.0.0.1"}"#,
        #"{"hostPort":8081,"containerPort":81,"protocol":"tcp","hostIP":"127.0.0.1"}"#,
        #"{"hostPort":8082,"containerPort":82,"protocol":"tcp","hostIP":"127.0.0.1"}"#,
        #"{"hostPort":8080,"containerPort":80,"protocol":"udp","hostIP":"127.0.0.1"}"#,
        #"{"hostPort":8081,"containerPort":81,"protocol":"udp","hostIP":"127.0.0.1"}"#,
        #"{"hostPort":8082,"containerPort":82,"protocol":"udp","hostIP":"127.0.0.1"}"#,
        #"{"hostPort":5353,"containerPort":53,"protocol":"sctp"}"#,
      ])
  }

  /// `connect` and `disconnect` pass a container's ports again, read back from its cached `portMappings`: one
  /// mapping per entry, which expands to the same entries; malformed entries are skipped.
  @Test func cachedPortMappingsReadBackToTheSameEntries() throws {
    let entries = CNINetworkBackend.portMappingsCapability([
      PortMapping(hostIP: "127.0.0.1", containerPort: 80, hostPort: 8080, range: 2, protocol: "tcp,udp"),
      PortMapping(containerPort: 53, hostPort: 5353, protocol: "sctp"),
    ])
    let read = CNINetworkBackend.portMappings(
      fromCapability: entries + [["hostPort": "x", "containerPort": 1], ["containerPort": 70000, "hostPort": 1]])
    #expect(read.count == 5)
    #expect(read.last == PortMapping(containerPort: 53, hostPort: 5353, protocol: "sctp"))
    #expect(CNINetworkBackend.portMappingsCapability(read) == entries)
  }

  /// Files from older Podman versions lack `capabilities.ips`; setup adds it in memory when it needs it, and
  /// points host-local at the configured data directory, without touching the file.
  @Test func configIsAdjustedInMemoryOnly() throws {
    let text = #"""
      {"cniVersion":"0.4.0","name":"old","plugins":[{"type":"bridge","bridge":"cni-podman9","isGateway":true,
      "ipam":{"type":"host-local","ranges":[[{"subnet":"10.89.9.0/24"}]]}},{"type":"portmap","capabilities":{"portMappings":true}}]}
      """#
    let root = try JSONValue.parse(text)
    let stored = StoredNetwork(
      network: try PodmanConflist.network(from: root, created: nil), path: "/x/old.conflist", configList: root)
    let single = try backend.configList(for: stored, staticIPCount: 1)
    #expect(single.plugins[0].capabilities.isEmpty)
    #expect(single.plugins[0].raw["ipam"]?["dataDir"] == .string("/tmp/ipam-data"))
    let several = try backend.configList(for: stored, staticIPCount: 2)
    #expect(several.plugins[0].capabilities == ["ips"])
    #expect(several.plugins[1].raw["ipam"] == nil)
    #expect(stored.configList == root)
  }

  /// The default network has no file; its config list is made when a setup asks for it, as `create` would write it.
  @Test func defaultNetworksListIsMadeOnDemand() async throws {
    let stored = await backend.defaultNetwork()
    #expect(stored.path == nil && stored.configList == nil)
    let list = try backend.configList(for: stored, staticIPCount: 1)
    #expect(list.name == "podman")
    #expect(list.plugins.map(\.type) == ["bridge", "portmap", "firewall", "tuning"])
    #expect(list.plugins[0].raw["bridge"] == .string("cni-podman0"))
    #expect(
      list.plugins[0].raw["ipam"]?["ranges"]?.arrayValue?.first?.arrayValue?.first?["subnet"] == .string("10.88.0.0/16")
    )
    #expect(list.plugins[0].raw["ipam"]?["dataDir"] == .string("/tmp/ipam-data"))
    // tuning's backups go beside the reservations, not to /run/cni/tuning.
    #expect(list.plugins[3].raw["dataDir"] == .string("/tmp/ipam-data/.tuning"))
  }
}
