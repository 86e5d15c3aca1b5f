import ContainerNetworkCore
import Foundation
import NetworkAddress
import Testing

@Suite struct ModelCodingTests {
  @Test(arguments: ["full.json", "minimal.json"])
  func networkRoundTripsExactly(fixture: String) throws {
    let data = try Fixtures.data("network-json/\(fixture)")
    let network = try JSONDecoder().decode(Network.self, from: data)
    let encoded = try JSONEncoder().encode(network)
    #expect(try jsonObject(encoded) == jsonObject(data))
  }

  @Test func networkFieldsDecode() throws {
    let network = try JSONDecoder().decode(Network.self, from: Fixtures.data("network-json/full.json"))
    #expect(network.name == "full")
    #expect(network.networkInterface == "cni-podman7")
    #expect(network.created?.description == "2024-03-01T12:30:45.123456789Z")
    #expect(network.subnets.count == 2)
    #expect(network.subnets[0].leaseRange?.startIP == IPAddress("10.89.3.100"))
    #expect(network.subnets[1].gateway == IPAddress("fd12:3456:789a:1::1"))
    #expect(network.routes.first?.metric == 100)
    #expect(network.ipamDriver == "host-local")
    #expect(network.labels == ["team": "net"])
  }

  @Test func emptyMembersAreLeftOut() throws {
    let network = Network(name: "n", id: "abc", driver: "bridge")
    let object = try jsonObject(JSONEncoder().encode(network)) as! [String: Any]
    #expect(Set(object.keys) == ["name", "id", "driver", "ipv6_enabled", "internal", "dns_enabled"])
  }

  @Test(arguments: ["status-block.json", "network-options.json"])
  func setupTypesRoundTrip(fixture: String) throws {
    let data = try Fixtures.data("network-json/\(fixture)")
    let encoded: Data
    if fixture.hasPrefix("status") {
      encoded = try JSONEncoder().encode(JSONDecoder().decode(StatusBlock.self, from: data))
    } else {
      encoded = try JSONEncoder().encode(JSONDecoder().decode(NetworkOptions.self, from: data))
    }
    #expect(try jsonObject(encoded) == jsonObject(data))
  }

  @Test func macWithDashesDecodes() throws {
    let options = try JSONDecoder().decode(
      NetworkOptions.self, from: Fixtures.data("network-json/network-options-dashes.json"))
    #expect(options[network: "podman"]?.staticMAC?.description == "2a:7b:c4:11:00:9e")
  }

  @Test func invalidMACIsRejected() {
    let json = #"{"container_id":"c","networks":{"n":{"static_mac":"zz:00","interface_name":"eth0"}}}"#
    #expect(throws: DecodingError.self) { try JSONDecoder().decode(NetworkOptions.self, from: Data(json.utf8)) }
  }

  @Test func statusBlockKeepsAddressWithPrefix() throws {
    let block = try JSONDecoder().decode(StatusBlock.self, from: Fixtures.data("network-json/status-block.json"))
    let address = try #require(block.interfaces["eth0"]?.subnets.first)
    #expect(address.ipnet.description == "10.88.0.5/16")
    #expect(address.ipnet.address == IPAddress("10.88.0.5"))
  }

  @Test func portMappingDefaults() throws {
    let mapping = try JSONDecoder().decode(PortMapping.self, from: Data(#"{"container_port":80}"#.utf8))
    #expect(mapping.hostPort == 80)
    #expect(mapping.protocols == ["tcp"])
    #expect(mapping.portCount == 1)
  }

  /// Every network Podman 4.3 printed with `network inspect` decodes, and re-encodes to the same JSON.
  @Test func podmanInspectOutputRoundTrips() throws {
    let directory = Fixtures.podmanReference.appendingPathComponent("cni/inspect")
    guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory.path) else {
      print("skipped: Podman reference data not found at \(directory.path)")
      return
    }
    var checked = 0
    for name in names.sorted() where name.hasSuffix(".json") {
      let data = try Data(contentsOf: directory.appendingPathComponent(name))
      let networks = try JSONDecoder().decode([Network].self, from: data)
      #expect(try jsonObject(JSONEncoder().encode(networks)) == jsonObject(data), "\(name)")
      checked += 1
    }
    #expect(checked > 5)
  }
}
