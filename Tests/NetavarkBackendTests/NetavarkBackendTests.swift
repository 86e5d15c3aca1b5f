import ContainerNetworkCore
import Foundation
import NetworkAddress
import NetworkIPAM
import TestSupport
import Testing

@testable import NetavarkBackend

/// The backend's own logic (store, Podman's create rules, IPAM, rollback) over a fake dataplane: no root needed.
@Suite struct NetavarkBackendTests {
  static func backend(
    _ dir: TemporaryDirectory, dataplane: FakeDataplane = FakeDataplane(), namespaces: FakeNamespaces = FakeNamespaces()
  ) -> NetavarkNetworkBackend {
    var configuration = NetavarkBackendConfiguration(
      configDirectory: dir.appending("networks"), runDirectory: dir.appending("run"))
    configuration.dataplane = dataplane
    configuration.namespaces = namespaces
    return NetavarkNetworkBackend(configuration: configuration)
  }

  static func options(_ id: String, _ networks: KeyValuePairs<String, PerNetworkOptions>) -> NetworkOptions {
    NetworkOptions(containerID: id, containerName: id, networks: networks)
  }

  @Test func theDefaultNetworkIsPodmansAndLivesInMemory() async throws {
    try await withTemporaryDirectory { dir in
      let backend = Self.backend(dir)
      let podman = try await backend.inspect("podman")
      #expect(podman.id == "2f259bab93aaaaa2542ba43ef33eb990d0999ee1b9924b557b7be53c0b7a1bb9")
      #expect(podman.networkInterface == "podman0" && podman.subnets.map(\.subnet.description) == ["10.88.0.0/16"])
      #expect(!FileManager.default.fileExists(atPath: dir.appending("networks/podman.json")))
      // A podman.json overrides it, as in Podman.
      var custom = try JSONDecoder().decode(Network.self, from: Data(try Fixtures.bytes("pb-auto.json")))
      custom.name = "podman"
      try FileManager.default.createDirectory(atPath: dir.appending("networks"), withIntermediateDirectories: true)
      try Data(try JSONNetworkDirectory.fileContents(of: custom)).write(
        to: URL(fileURLWithPath: dir.appending("networks/podman.json")))
      #expect(try await backend.inspect("podman").id == custom.id)
    }
  }

  @Test func createWritesPodmansFileWithARandomIDAndTheNextBridgeAndSubnet() async throws {
    try await withTemporaryDirectory { dir in
      let backend = Self.backend(dir)
      let first = try await backend.create(Network(name: "one"))
      let second = try await backend.create(Network())
      #expect(first.id.count == 64 && first.id != second.id)
      // Podman's GetFreeDeviceName: the first podmanN that is no network's name or bridge and no host link, used as
      // the name and the bridge of an unnamed network ("one" took podman1 for its bridge).
      #expect(first.networkInterface == "podman1")
      #expect(second.name == "podman2" && second.networkInterface == "podman2")
      #expect(first.subnets.first?.subnet != second.subnets.first?.subnet)
      #expect(first.dnsEnabled == false && first.ipamDriver == "host-local")
      let file = try String(contentsOfFile: dir.appending("networks/one.json"), encoding: .utf8)
      #expect(file.hasPrefix("{\n     \"name\": \"one\",\n     \"id\": \"\(first.id)\""))
      #expect(try await backend.list().map(\.name) == ["one", "podman", "podman2"])
      // Another process sees it: a new backend over the same directory.
      #expect(try await Self.backend(dir).inspect(first.id).name == "one")
    }
  }

  @Test func internalNetworksKeepDNSAndAGateway() async throws {
    try await withTemporaryDirectory { dir in
      let network = try await Self.backend(dir).create(Network(name: "inside", internal: true, dnsEnabled: true))
      #expect(network.dnsEnabled && network.internal && network.subnets.first?.gateway != nil)
      // Podman's addGateway: internal and without DNS, nothing serves on the bridge, so there is no gateway.
      let quiet = try await Self.backend(dir).create(Network(name: "quiet", internal: true, dnsEnabled: false))
      #expect(quiet.subnets.count == 1 && quiet.subnets.first?.gateway == nil)
    }
  }

  /// Podman keeps the options as they were given once they check out: `mtu=0`, and `isolate` in netavark's spelling.
  @Test func optionsAreKeptAsPodmanWritesThem() async throws {
    try await withTemporaryDirectory { dir in
      let network = try await Self.backend(dir).create(
        Network(name: "opts", options: ["mtu": "0", "isolate": "0", "vlan": "0"]))
      #expect(network.options == ["mtu": "0", "isolate": "false", "vlan": "0"])
      let file = try String(contentsOfFile: dir.appending("networks/opts.json"), encoding: .utf8)
      #expect(file.contains("\"isolate\": \"false\""))
    }
  }

  @Test(
    "errors in Podman 4.3's words",
    arguments: [
      (Network(name: "a", options: ["mtu": "abc"]), "strconv.Atoi: parsing \"abc\": invalid syntax"),
      (Network(name: "a", options: ["vlan": "5000"]), "vlan ID 5000 must be between 0 and 4094"),
      (Network(name: "a", ipamOptions: ["driver": "bogus"]), "unsupported ipam driver \"bogus\""),
      (Network(name: "a", driver: "macvlan", options: ["mode": "bogus"]), "unknown macvlan mode \"bogus\""),
      (Network(name: "a", driver: "macvlan", options: ["parent": "eth9x"]), "parent interface eth9x does not exist"),
      (
        Network(name: "Bad_Name!"),
        "network name Bad_Name! invalid: names must match [a-zA-Z0-9][a-zA-Z0-9_.-]*: invalid argument"
      ),
    ])
  func podmansErrorTexts(request: Network, message: String) async throws {
    try await withTemporaryDirectory { dir in
      let error = await #expect(throws: NetworkError.self) { try await Self.backend(dir).create(request) }
      #expect(error?.message == message)
    }
  }

  /// Without a parent, netavark takes the interface of the host's default route, as Podman allows.
  @Test func aMacvlanNetworkNeedsNoParent() async throws {
    try await withTemporaryDirectory { dir in
      let network = try await Self.backend(dir).create(
        Network(name: "mv", driver: "macvlan", subnets: [Subnet(subnet: IPNetwork("10.240.8.0/24")!)]))
      #expect(network.networkInterface == "")
    }
  }

  @Test(
    "what netavark 1.4 cannot do is refused with Podman's text",
    arguments: [
      (Network(name: "a", options: ["no_default_route": "true"]), "unsupported bridge network option no_default_route"),
      (Network(name: "a", options: ["vrf": "blue"]), "unsupported bridge network option vrf"),
      (Network(name: "a", options: ["isolate": "strict"]), "strconv.ParseBool: parsing \"strict\": invalid syntax"),
      (Network(name: "a", driver: "ipvlan"), "unsupported driver ipvlan: invalid argument"),
      (Network(name: "a", ipamOptions: ["driver": "dhcp"]), "dhcp ipam driver is not yet supported with netavark"),
      (
        Network(name: "a", routes: [Route(destination: IPNetwork("10.1.0.0/16")!, gateway: IPAddress("10.89.0.5"))]),
        "routes"
      ),
    ])
  func refusals(request: Network, message: String) async throws {
    try await withTemporaryDirectory { dir in
      let error = await #expect(throws: NetworkError.self) { try await Self.backend(dir).create(request) }
      #expect(error?.message.contains(message) == true, "\(String(describing: error))")
      #expect(!FileManager.default.fileExists(atPath: dir.appending("networks/a.json")))
    }
  }

  @Test func setupHandsOutAddressesInOrderAndTeardownFreesThem() async throws {
    try await withTemporaryDirectory { dir in
      let dataplane = FakeDataplane()
      let backend = Self.backend(dir, dataplane: dataplane)
      _ = try await backend.create(Network(name: "net", subnets: [Subnet(subnet: IPNetwork("10.77.0.0/24")!)]))
      let a = try await backend.setup(namespacePath: "/run/netns/a", options: Self.options("a", ["net": .init()]))
      let b = try await backend.setup(namespacePath: "/run/netns/b", options: Self.options("b", ["net": .init()]))
      #expect(a["net"]?.interfaces["eth0"]?.subnets.map(\.ipnet.description) == ["10.77.0.2/24"])
      #expect(b["net"]?.interfaces["eth0"]?.subnets.map(\.ipnet.description) == ["10.77.0.3/24"])
      // The contract carries the allocated address and the whole network.
      let sent = dataplane.calls[0].request
      #expect(sent.options.networks.first?.options.staticIPs == [IPAddress("10.77.0.2")!])
      #expect(sent.networkInfo["net"]?.subnets.first?.subnet == IPNetwork("10.77.0.0/24"))
      try await backend.teardown(namespacePath: "/run/netns/a", options: Self.options("a", ["net": .init()]))
      #expect(dataplane.calls.last?.command == "teardown")
      #expect(dataplane.calls.last?.request.options.networks.first?.options.staticIPs == [IPAddress("10.77.0.2")!])
      // Sequential from the last handed out: .4 next, not the freed .2.
      let c = try await backend.setup(namespacePath: "/run/netns/c", options: Self.options("c", ["net": .init()]))
      #expect(c["net"]?.interfaces["eth0"]?.subnets.map(\.ipnet.description) == ["10.77.0.4/24"])
      // A repeated teardown, and one of a container never set up, succeed and run nothing.
      let before = dataplane.calls.count
      try await backend.teardown(namespacePath: "/run/netns/a", options: Self.options("a", ["net": .init()]))
      try await backend.teardown(namespacePath: "/run/netns/z", options: Self.options("z", ["net": .init()]))
      #expect(dataplane.calls.count == before)
    }
  }

  @Test func theInterfaceAndMACOfEachNetworkAreRecorded() async throws {
    try await withTemporaryDirectory { dir in
      let backend = Self.backend(dir)
      _ = try await backend.create(Network(name: "net", subnets: [Subnet(subnet: IPNetwork("10.77.5.0/24")!)]))
      let mac = MACAddress("02:42:ac:11:00:99")!
      _ = try await backend.setup(
        namespacePath: "/run/netns/a",
        options: Self.options("a", ["net": .init(staticMAC: mac, interfaceName: "web0")]))
      let recorded = try IPAMDatabase(directory: dir.appending("run")).interface(containerID: "a", network: "net")
      #expect(recorded?.name == "web0" && recorded?.mac == mac.description)
    }
  }

  @Test func aTakenStaticIPIsRefusedWithPodmansText() async throws {
    try await withTemporaryDirectory { dir in
      let backend = Self.backend(dir)
      _ = try await backend.create(Network(name: "net", subnets: [Subnet(subnet: IPNetwork("10.77.1.0/24")!)]))
      let ip = IPAddress("10.77.1.50")!
      _ = try await backend.setup(
        namespacePath: "/run/netns/a", options: Self.options("holder", ["net": .init(staticIPs: [ip])]))
      let error = await #expect(throws: NetworkError.self) {
        try await backend.setup(
          namespacePath: "/run/netns/b", options: Self.options("other", ["net": .init(staticIPs: [ip])]))
      }
      #expect(error?.message == "requested ip address 10.77.1.50 is already allocated to container ID holder")
    }
  }

  @Test func exhaustionNamesTheNetworkAndTheRange() async throws {
    try await withTemporaryDirectory { dir in
      let backend = Self.backend(dir)
      // A /29: .1 is the gateway, .2 to .6 are free, .7 is the broadcast address.
      _ = try await backend.create(Network(name: "tiny", subnets: [Subnet(subnet: IPNetwork("10.77.2.0/29")!)]))
      for n in 0..<5 {
        _ = try await backend.setup(namespacePath: "/run/netns/\(n)", options: Self.options("c\(n)", ["tiny": .init()]))
      }
      let error = await #expect(throws: NetworkError.self) {
        try await backend.setup(namespacePath: "/run/netns/x", options: Self.options("x", ["tiny": .init()]))
      }
      #expect(error?.code == .exhausted)
      #expect(error?.message == "no free address left in 10.77.2.1-10.77.2.6 of network tiny (subnet 10.77.2.0/29)")
    }
  }

  @Test func aFailedSetupReleasesItsAddresses() async throws {
    try await withTemporaryDirectory { dir in
      let dataplane = FakeDataplane()
      let backend = Self.backend(dir, dataplane: dataplane)
      _ = try await backend.create(Network(name: "net", subnets: [Subnet(subnet: IPNetwork("10.77.3.0/24")!)]))
      let ip = IPAddress("10.77.3.9")!
      dataplane.failNextSetups(true)
      let error = await #expect(throws: NetworkError.self) {
        try await backend.setup(
          namespacePath: "/run/netns/a", options: Self.options("a", ["net": .init(staticIPs: [ip])]))
      }
      #expect(error?.code == .pluginFailed && error?.message.contains("simulated") == true)
      #expect(error?.causes.first is FakeDataplane.Failure)
      // netavark is asked to undo whatever it did before failing, and the address is free again.
      #expect(dataplane.calls.map(\.command) == ["setup", "teardown"])
      dataplane.failNextSetups(false)
      _ = try await backend.setup(
        namespacePath: "/run/netns/b", options: Self.options("b", ["net": .init(staticIPs: [ip])]))
    }
  }

  @Test func removeRefusesANetworkInUseUnlessForcedAndDropsItsAllocations() async throws {
    try await withTemporaryDirectory { dir in
      let dataplane = FakeDataplane()
      let backend = Self.backend(dir, dataplane: dataplane)
      _ = try await backend.create(Network(name: "busy", subnets: [Subnet(subnet: IPNetwork("10.77.4.0/24")!)]))
      _ = try await backend.setup(namespacePath: "/run/netns/a", options: Self.options("a", ["busy": .init()]))
      let error = await #expect(throws: NetworkError.self) { try await backend.remove("busy", force: false) }
      #expect(error?.code == .inUse && error?.message.contains("a") == true)
      #expect(try await backend.prune(filters: NetworkFilters()).isEmpty)
      try await backend.remove("busy", force: true)
      #expect(dataplane.calls.last?.command == "teardown")
      #expect(try await backend.list().map(\.name) == ["podman"])
      let ipam = try IPAMDatabase(directory: dir.appending("run"))
      #expect(try ipam.allocations(network: "busy").isEmpty)
      await #expect(throws: NetworkError.self) { try await backend.remove("podman", force: true) }
    }
  }

  @Test func deadContainersAreGarbageAndHoldNothing() async throws {
    try await withTemporaryDirectory { dir in
      let (dataplane, namespaces) = (FakeDataplane(), FakeNamespaces())
      let backend = Self.backend(dir, dataplane: dataplane, namespaces: namespaces)
      _ = try await backend.create(Network(name: "net", subnets: [Subnet(subnet: IPNetwork("10.77.6.0/24")!)]))
      let ip = IPAddress("10.77.6.9")!
      _ = try await backend.setup(
        namespacePath: "/run/netns/dead", options: Self.options("dead", ["net": .init(staticIPs: [ip])]))
      _ = try await backend.setup(namespacePath: "/run/netns/live", options: Self.options("live", ["net": .init()]))
      namespaces.vanish("/run/netns/dead")
      let stale = [StaleAttachment(containerID: "dead", network: "net", namespacePath: "/run/netns/dead")]
      #expect(try await backend.collectGarbage(dryRun: true) == stale)
      #expect(dataplane.calls.map(\.command) == ["setup", "setup"])
      // A new container asking for the dead one's address gets it: the dead one is torn down first, in a stand-in.
      _ = try await backend.setup(
        namespacePath: "/run/netns/next", options: Self.options("next", ["net": .init(staticIPs: [ip])]))
      #expect(dataplane.calls.suffix(2).map(\.command) == ["teardown", "setup"])
      #expect(dataplane.calls.suffix(2).first?.namespacePath == "/stand-in")
      #expect(try await backend.collectGarbage(dryRun: false) == [])
      // Only live containers keep a network in use.
      namespaces.vanish("/run/netns/live")
      namespaces.vanish("/run/netns/next")
      try await backend.remove("net", force: false)
      #expect(try IPAMDatabase(directory: dir.appending("run")).containerIDs() == [])
    }
  }
}
