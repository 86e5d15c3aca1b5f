import ContainerNetworkCore
import Foundation
import NetworkAddress
import Testing

@Suite struct SetupValidationTests {
  let network = Network(
    name: "web", id: NetworkID.of(name: "web"), driver: "bridge",
    subnets: [
      Subnet(subnet: IPNetwork("10.89.0.0/24")!, gateway: IPAddress("10.89.0.1")),
      Subnet(subnet: IPNetwork("fd00:1::/64")!, gateway: IPAddress("fd00:1::1")),
    ])

  func options(_ perNetwork: PerNetworkOptions, ports: [PortMapping] = []) -> NetworkOptions {
    NetworkOptions(containerID: "c1", containerName: "c1", portMappings: ports, networks: ["web": perNetwork])
  }

  @Test func acceptsDualStackStaticIPs() throws {
    let per = PerNetworkOptions(staticIPs: [IPAddress("10.89.0.5")!, IPAddress("fd00:1::5")!], interfaceName: "eth0")
    try SetupValidation.validate(options(per), networks: ["web": network])
  }

  @Test(arguments: [
    ("10.90.0.5", "not in any subnet"),
    ("10.89.0.1", "is the gateway"),
    ("10.89.0.0", "not a host address"),
    ("10.89.0.255", "not a host address"),
  ])
  func rejectsBadStaticIP(ip: String, message: String) {
    let per = PerNetworkOptions(staticIPs: [IPAddress(ip)!], interfaceName: "eth0")
    let error = #expect(throws: NetworkError.self) {
      try SetupValidation.validate(options(per), networks: ["web": network])
    }
    #expect(error?.message.contains(message) == true, "\(error?.message ?? "")")
    #expect(error?.message.contains(ip) == true)
  }

  /// lo exists in every namespace: the bridge plugin failed on it only after host-local had reserved an address.
  @Test func rejectsTheLoopbackAsInterfaceName() {
    let error = #expect(throws: NetworkError.self) {
      try SetupValidation.validate(options(PerNetworkOptions(interfaceName: "lo")), networks: ["web": network])
    }
    #expect(error?.message == "interface name lo on network web is the namespace's loopback: choose another name")
  }

  /// JSON objects have no order: decoded networks are sorted by interface, numbers compared as numbers (eth10
  /// after eth9), which is the order the caller gave them in when the names are the defaults.
  @Test func networksWithoutAnOrderAreSortedByInterface() {
    let names = (0..<300).map { String(format: "n%03d", 299 - $0) }
    var networks = names.map { NamedPerNetworkOptions($0) }
    SetupValidation.assignDefaultInterfaceNames(&networks)
    #expect(networks[10].options.interfaceName == "eth10")
    #expect(SetupValidation.sortedByInterface(networks.shuffled()).map(\.name) == names)
  }

  @Test func aNetworkGivenTwiceIsRefused() {
    let twice = NetworkOptions(
      containerID: "c1", networks: [.init("web", PerNetworkOptions(interfaceName: "eth0")), .init("web")])
    let error = #expect(throws: NetworkError.self) { try SetupValidation.validate(twice, networks: ["web": network]) }
    #expect(error?.message == "network web is given twice")
  }

  @Test func rejectsTwoIPsInOneSubnet() {
    let per = PerNetworkOptions(staticIPs: [IPAddress("10.89.0.5")!, IPAddress("10.89.0.6")!], interfaceName: "eth0")
    #expect(throws: NetworkError.self) { try SetupValidation.validate(options(per), networks: ["web": network]) }
  }

  @Test func rejectsMissingAndDuplicateInterfaceNames() {
    #expect(throws: NetworkError.self) {
      try SetupValidation.validate(options(PerNetworkOptions()), networks: ["web": network])
    }
    var second = network
    second.name = "db"
    let twoNetworks = NetworkOptions(
      containerID: "c1",
      networks: ["web": PerNetworkOptions(interfaceName: "eth0"), "db": PerNetworkOptions(interfaceName: "eth0")])
    let error = #expect(throws: NetworkError.self) {
      try SetupValidation.validate(twoNetworks, networks: ["web": network, "db": second])
    }
    #expect(error?.message.contains("unique") == true)
  }

  @Test func rejectsUnknownNetworkAndEmptyList() {
    let unknown = NetworkOptions(containerID: "c1", networks: ["nope": PerNetworkOptions(interfaceName: "eth0")])
    let error = #expect(throws: NetworkError.self) { try SetupValidation.validate(unknown, networks: [:]) }
    #expect(error?.code == .notFound)
    #expect(throws: NetworkError.self) {
      try SetupValidation.validate(NetworkOptions(containerID: "c1"), networks: [:])
    }
  }

  @Test(arguments: [
    (PortMapping(containerPort: 80, hostPort: 8080, protocol: "icmp"), "unknown port protocol"),
    (PortMapping(containerPort: 0, hostPort: 8080), "container port must not be 0"),
    (PortMapping(containerPort: 65535, hostPort: 8080, range: 2), "exceeds"),
    (PortMapping(containerPort: 80, hostPort: 65534, range: 3), "exceeds"),
    (PortMapping(hostIP: "300.1.1.1", containerPort: 80, hostPort: 80), "invalid host IP"),
    (PortMapping(containerPort: 80, hostPort: 8080, protocol: "tcp,"), "unknown port protocol"),
  ])
  func rejectsBadPorts(mapping: PortMapping, message: String) {
    let error = #expect(throws: NetworkError.self) { try SetupValidation.validatePortMappings([mapping]) }
    #expect(error?.message.contains(message) == true, "\(error?.message ?? "")")
  }

  @Test func rejectsHostPortPublishedTwice() {
    let mappings = [
      PortMapping(containerPort: 80, hostPort: 8080, range: 3),
      PortMapping(containerPort: 90, hostPort: 8082, protocol: "udp,tcp"),
    ]
    #expect(throws: NetworkError.self) { try SetupValidation.validatePortMappings(mappings) }
    try? SetupValidation.validatePortMappings([
      mappings[0], PortMapping(containerPort: 90, hostPort: 8082, protocol: "udp"),
    ])
  }

  @Test func defaultInterfaceNamesFollowTheGivenOrder() {
    var networks = [
      NamedPerNetworkOptions("zeta"), NamedPerNetworkOptions("mid", PerNetworkOptions(interfaceName: "eth0")),
      NamedPerNetworkOptions("alpha"),
    ]
    SetupValidation.assignDefaultInterfaceNames(&networks)
    #expect(networks.map(\.options.interfaceName) == ["eth1", "eth0", "eth2"])
  }
}
