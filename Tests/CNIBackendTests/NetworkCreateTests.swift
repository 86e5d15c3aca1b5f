import CNIBackend
import CNIRuntime
import ContainerNetworkCore
import Foundation
import NetworkAddress
import TestSupport
import Testing

@Suite struct NetworkCreateTests {
  @Test func automaticNamesSubnetsAndBridges() async throws {
    let sandbox = try BackendSandbox()
    defer { sandbox.remove() }
    let backend = sandbox.backend()
    let first = try await backend.create(Network())
    let second = try await backend.create(Network())
    #expect(first.name == "cni-podman1" && second.name == "cni-podman2")
    #expect(first.id == NetworkID.of(name: "cni-podman1"))
    #expect(first.driver == "bridge")
    #expect(first.subnets == [Subnet(subnet: IPNetwork("198.18.0.0/24")!, gateway: IPAddress("198.18.0.1"))])
    #expect(second.subnets.first?.subnet == IPNetwork("198.18.1.0/24"))
    #expect(first.networkInterface != second.networkInterface)
    #expect(first.networkInterface.hasPrefix("cni-podman"))
    #expect(first.ipamOptions == ["driver": "host-local"])
    #expect(first.created != nil)
    #expect(try sandbox.fileNames() == ["cni-podman1.conflist", "cni-podman2.conflist", "cni.lock"])
    var info = stat()
    stat("\(sandbox.configDirectory)/cni-podman1.conflist", &info)
    #expect(info.st_mode & 0o777 == 0o644)
    // What was returned is what a fresh reader sees (apart from the creation time, which comes from the file).
    var reread = try await sandbox.backend().inspect("cni-podman1")
    reread.created = first.created
    #expect(reread == first)
  }

  @Test func fileIsExactlyPodmansFormat() async throws {
    let sandbox = try BackendSandbox()
    defer { sandbox.remove() }
    _ = try await sandbox.backend().create(
      Network(
        name: "fmt", networkInterface: "cni-podman9", subnets: [Subnet(subnet: IPNetwork("10.231.5.0/24")!)],
        dnsEnabled: false, labels: ["team": "net"], options: ["mtu": "1400"]))
    let text = try String(contentsOfFile: "\(sandbox.configDirectory)/fmt.conflist", encoding: .utf8)
    #expect(text.hasPrefix("{\n   \"args\": {\n      \"podman_labels\": {\n         \"team\": \"net\"\n      },"))
    #expect(
      text.contains(
        "\"isGateway\": true,\n         \"ipMasq\": true,\n         \"mtu\": 1400,\n         \"hairpinMode\": true,"))
    #expect(!text.hasSuffix("\n"))
    #expect(!text.contains("dnsname"))
  }

  @Test func duplicateNameIsRefusedUnlessAskedForTheExisting() async throws {
    let sandbox = try BackendSandbox()
    defer { sandbox.remove() }
    let backend = sandbox.backend()
    let created = try await backend.create(Network(name: "web"))
    let error = await #expect(throws: NetworkError.self) { try await backend.create(Network(name: "web")) }
    #expect(error?.message == "network name web already used: network already exists")
    let existing = try await backend.create(
      Network(name: "web", subnets: [Subnet(subnet: IPNetwork("10.5.0.0/24")!)]),
      options: CreateOptions(returnExisting: true))
    #expect(existing.subnets == created.subnets)
    let defaultError = await #expect(throws: NetworkError.self) { try await backend.create(Network(name: "podman")) }
    #expect(defaultError?.code == .alreadyExists)
  }

  @Test(arguments: [
    (Network(name: "x", id: "abc"), "ID can not be set for network create"),
    (Network(name: "bad/name"), "network name bad/name invalid"),
    (Network(name: "x", driver: "overlay"), "unsupported driver overlay"),
    (Network(name: "x", options: ["metric": "50"]), "unsupported network option metric"),
    (Network(name: "x", options: ["mtu": "-1"]), "mtu -1 is less than zero"),
    (Network(name: "x", options: ["mtu": "abc"]), "strconv.Atoi: parsing \"abc\": invalid syntax"),
    (Network(name: "x", options: ["vlan": "4095"]), "vlan ID 4095 must be between 0 and 4094"),
    (Network(name: "x", options: ["isolate": "maybe"]), "strconv.ParseBool: parsing \"maybe\": invalid syntax"),
    (
      Network(name: "x", subnets: [Subnet(subnet: IPNetwork("10.5.0.0/24")!, gateway: IPAddress("10.6.0.1"))]),
      "gateway 10.6.0.1 not in subnet 10.5.0.0/24"
    ),
    (
      Network(
        name: "x",
        subnets: [Subnet(subnet: IPNetwork("10.5.0.0/24")!, leaseRange: LeaseRange(startIP: IPAddress("10.6.0.5")))]),
      "lease range start ip 10.6.0.5 not in subnet 10.5.0.0/24"
    ),
    (
      Network(
        name: "x", subnets: [Subnet(subnet: IPNetwork("10.5.0.0/24")!), Subnet(subnet: IPNetwork("10.5.0.128/25")!)]),
      "subnet 10.5.0.128/25 is already used on the host or by another config"
    ),
    (
      Network(name: "x", subnets: [Subnet(subnet: IPNetwork("10.5.0.0/24")!)], ipamOptions: ["driver": "none"]),
      "none ipam driver is set but subnets are given"
    ),
    (Network(name: "x", ipamOptions: ["driver": "static"]), "unsupported ipam driver \"static\""),
    (
      Network(name: "x", driver: "macvlan", options: ["parent": "nosuchif0"]),
      "parent interface nosuchif0 does not exist"
    ),
    (Network(name: "x", driver: "macvlan", options: ["parent": "lo", "mode": "l3"]), "unknown macvlan mode \"l3\""),
    (Network(name: "x", driver: "ipvlan", options: ["parent": "lo", "mode": "vepa"]), "unknown ipvlan mode \"vepa\""),
    (Network(name: "x", driver: "macvlan", options: ["parent": "lo", "vlan": "3"]), "unsupported network option vlan"),
  ])
  func invalidRequestsFailAndWriteNothing(request: Network, message: String) async throws {
    let sandbox = try BackendSandbox()
    defer { sandbox.remove() }
    let error = await #expect(throws: NetworkError.self) { try await sandbox.backend().create(request) }
    #expect(error?.message.contains(message) == true, "\(error?.message ?? "no error")")
    #expect(try sandbox.fileNames().filter { $0 != "cni.lock" }.isEmpty)
  }

  /// host-local's routes are unicast: other types are the netavark backend's; a unicast route without gateway is
  /// refused for every backend.
  @Test func routesTheCNIFormatCannotHoldAreRefused() async throws {
    let sandbox = try BackendSandbox()
    defer { sandbox.remove() }
    let backend = sandbox.backend()
    var blackhole = Network(name: "bh")
    blackhole.routes = [Route(destination: IPNetwork("10.9.0.0/24")!, routeType: .blackhole)]
    let error = await #expect(throws: NetworkError.self) { _ = try await backend.create(blackhole) }
    #expect(error?.code == .notSupported)
    #expect(error?.message == "blackhole routes are not supported by the cni backend; use the netavark backend")
    var noGateway = Network(name: "ng")
    noGateway.routes = [Route(destination: IPNetwork("10.9.0.0/24")!)]
    await #expect(throws: NetworkError.self) { _ = try await backend.create(noGateway) }
    #expect(try sandbox.fileNames() == ["cni.lock"])
  }

  @Test func overlappingAnotherNetworkUsesPodmansWording() async throws {
    let sandbox = try BackendSandbox()
    defer { sandbox.remove() }
    let backend = sandbox.backend()
    _ = try await backend.create(Network(name: "a", subnets: [Subnet(subnet: IPNetwork("10.89.0.0/24")!)]))
    let error = await #expect(throws: NetworkError.self) {
      try await backend.create(Network(name: "b", subnets: [Subnet(subnet: IPNetwork("10.89.0.0/24")!)]))
    }
    #expect(error?.message == "subnet 10.89.0.0/24 is already used on the host or by another config")
    // The default network's 10.88.0.0/16 counts too.
    await #expect(throws: NetworkError.self) {
      try await backend.create(Network(name: "c", subnets: [Subnet(subnet: IPNetwork("10.88.5.0/24")!)]))
    }
  }

  @Test func subnetIsMaskedAndGatewayDefaultsToFirstHost() async throws {
    let sandbox = try BackendSandbox()
    defer { sandbox.remove() }
    let network = try await sandbox.backend().create(
      Network(
        name: "m",
        subnets: [
          Subnet(
            subnet: IPNetwork("10.231.5.77/24")!, gateway: IPAddress("10.231.5.254"),
            leaseRange: try SubnetPlanning.leaseRange(parsing: "10.231.5.128/25"))
        ]))
    #expect(
      network.subnets == [
        Subnet(
          subnet: IPNetwork("10.231.5.0/24")!, gateway: IPAddress("10.231.5.254"),
          leaseRange: LeaseRange(startIP: IPAddress("10.231.5.129"), endIP: IPAddress("10.231.5.255")))
      ])
  }

  @Test func ipv6AddsTheMissingFamily() async throws {
    let sandbox = try BackendSandbox()
    defer { sandbox.remove() }
    let backend = sandbox.backend()
    let auto = try await backend.create(Network(name: "v6", ipv6Enabled: true))
    #expect(auto.subnets.count == 2)
    #expect(auto.subnets[0].subnet == IPNetwork("198.18.0.0/24"))
    #expect(auto.subnets[1].subnet.isIPv6 && auto.subnets[1].subnet.prefixLength == 64)
    #expect(auto.subnets[1].subnet.description.hasPrefix("fd"))
    #expect(auto.subnets[1].gateway == auto.subnets[1].subnet.firstHost)
    let only6 = try await backend.create(
      Network(name: "v6only", subnets: [Subnet(subnet: IPNetwork("fd42:9:9:9::/64")!)], ipv6Enabled: true))
    #expect(only6.subnets.map(\.subnet.description) == ["fd42:9:9:9::/64", "198.18.1.0/24"])
    let given6 = try await backend.create(Network(name: "given6", subnets: [Subnet(subnet: IPNetwork("fd42:1::/64")!)]))
    #expect(given6.ipv6Enabled)
  }

  @Test func internalNetworksHaveNoGatewayAndNoDNS() async throws {
    let sandbox = try BackendSandbox()
    defer { sandbox.remove() }
    let network = try await sandbox.backend().create(Network(name: "inside", internal: true, dnsEnabled: true))
    #expect(network.internal && !network.dnsEnabled)
    #expect(network.subnets.first?.gateway == nil)
    #expect(sandbox.logs.messages.contains { $0.contains("dnsname and internal networks are incompatible") })
    let text = try String(contentsOfFile: "\(sandbox.configDirectory)/inside.conflist", encoding: .utf8)
    #expect(text.contains("\"isGateway\": false") && !text.contains("ipMasq") && !text.contains("routes"))
  }

  @Test func optionsAreStoredAsPodmanDoes() async throws {
    let sandbox = try BackendSandbox()
    defer { sandbox.remove() }
    let backend = sandbox.backend()
    let bridge = try await backend.create(
      Network(
        name: "opts",
        options: [
          "com.docker.network.driver.mtu": "1400", "vlan": "5", "isolate": "1",
          "com.docker.network.bridge.name": "mybr0",
        ]))
    #expect(bridge.options == ["mtu": "1400", "vlan": "5", "isolate": "true"])
    #expect(bridge.networkInterface == "mybr0")
    let text = try String(contentsOfFile: "\(sandbox.configDirectory)/opts.conflist", encoding: .utf8)
    #expect(text.contains("\"ingressPolicy\": \"same-bridge\"") && text.contains("\"vlan\": 5"))
    let error = await #expect(throws: NetworkError.self) {
      try await backend.create(Network(name: "opts2", options: ["com.docker.network.bridge.name": "mybr0"]))
    }
    #expect(error?.message.contains("bridge name mybr0 already in use") == true)
  }

  @Test func macvlanTakesItsParentAndDefaultsToDHCP() async throws {
    let sandbox = try BackendSandbox()
    defer { sandbox.remove() }
    let backend = sandbox.backend()
    let dhcp = try await backend.create(Network(name: "mv", driver: "macvlan", options: ["parent": "lo"]))
    #expect(dhcp.networkInterface == "lo" && dhcp.ipamOptions == ["driver": "dhcp"] && dhcp.subnets.isEmpty)
    #expect(!dhcp.dnsEnabled)
    // Host addresses are not checked for macvlan: 127.0.0.0/8 is on lo, yet a subnet inside it is accepted.
    let static4 = try await backend.create(
      Network(
        name: "mv2", driver: "macvlan", networkInterface: "lo",
        subnets: [Subnet(subnet: IPNetwork("127.200.0.0/24")!)], options: ["mode": "passthru"]))
    #expect(static4.options == ["mode": "passthru"] && static4.ipamOptions == ["driver": "host-local"])
    let ipvlan = try await backend.create(
      Network(
        name: "iv", driver: "ipvlan", networkInterface: "lo", subnets: [Subnet(subnet: IPNetwork("10.77.0.0/24")!)],
        options: ["mode": "l3"]))
    #expect(ipvlan.driver == "ipvlan")
    let text = try String(contentsOfFile: "\(sandbox.configDirectory)/iv.conflist", encoding: .utf8)
    #expect(
      text.contains("\"type\": \"ipvlan\"") && text.contains("\"master\": \"lo\"") && text.contains("\"mode\": \"l3\""))
  }

  @Test func poolsExhaustedIsAClearError() async throws {
    let sandbox = try BackendSandbox()
    defer { sandbox.remove() }
    let backend = sandbox.backend(pools: ["198.18.0.0/23"])
    _ = try await backend.create(Network(name: "a"))
    _ = try await backend.create(Network(name: "b"))
    let error = await #expect(throws: NetworkError.self) { try await backend.create(Network(name: "c")) }
    #expect(error?.code == .exhausted)
  }

  /// Many creators at once, each with its own backend value (as separate processes would be), never collide.
  @Test func concurrentCreatesGetDistinctNamesSubnetsAndBridges() async throws {
    let sandbox = try BackendSandbox()
    defer { sandbox.remove() }
    let configuration = sandbox.configuration()
    let networks = try await withThrowingTaskGroup(of: Network.self) { group in
      for _ in 0..<12 {
        group.addTask { try await CNINetworkBackend(configuration: configuration).create(Network()) }
      }
      return try await group.reduce(into: []) { $0.append($1) }
    }
    #expect(Set(networks.map(\.name)).count == 12)
    #expect(Set(networks.map(\.networkInterface)).count == 12)
    #expect(Set(networks.flatMap(\.subnets).map(\.subnet)).count == 12)
    #expect(try await sandbox.backend().list(filters: NetworkFilters()).count == 13)
  }
}
