import CNIRuntime
import OrderedJSON
import Testing

@Suite struct CNIResultTests {
  static let result020 = #"""
    {"cniVersion":"0.2.0","ip4":{"ip":"10.1.0.5/16","gateway":"10.1.0.1","routes":[{"dst":"0.0.0.0/0","gw":"10.1.0.1"}]},
     "ip6":{"ip":"fd00::5/64","routes":[{"dst":"::/0"}]},"dns":{"nameservers":["10.1.0.1"],"domain":"example"}}
    """#

  // Podman's capture of bridge at 0.4.0 (exec-capture/cni/02-static-ip-mac-alias).
  static let result040 = #"""
    {"cniVersion":"0.4.0","interfaces":[{"name":"cni-podman1","mac":"a2:51:31:7c:cd:1f"},
     {"name":"veth2002b919","mac":"6a:74:4d:2b:2e:f0"},
     {"name":"eth0","mac":"02:42:ac:11:00:99","sandbox":"/run/netns/netns-c39b9da7"}],
     "ips":[{"version":"4","interface":2,"address":"10.231.20.50/24","gateway":"10.231.20.1"},
            {"version":"4","interface":2,"address":"10.231.21.50/24"},
            {"version":"6","interface":2,"address":"fd00::50/64","gateway":"fd00::1"}],
     "routes":[{"dst":"0.0.0.0/0"},{"dst":"::/0","gw":"fd00::1"}],"dns":{}}
    """#

  static let result110 = #"""
    {"cniVersion":"1.1.0","interfaces":[{"name":"eth0","mac":"02:00:00:00:00:01","mtu":1400,"sandbox":"/run/netns/x",
      "socketPath":"/run/sock","pciID":"0000:00:01.0"}],
     "ips":[{"interface":0,"address":"10.2.0.7/24","gateway":"10.2.0.1"}],
     "routes":[{"dst":"0.0.0.0/0","gw":"10.2.0.1","mtu":1400,"advmss":1360,"priority":10,"table":100,"scope":0}],
     "dns":{"nameservers":["10.2.0.1"],"search":["a.example"],"options":["ndots:2"]}}
    """#

  @Test func parsesLegacyResults() throws {
    let result = try CNIResult(data: Array(Self.result020.utf8), defaultVersion: "1.0.0")
    #expect(result.cniVersion == "0.2.0")
    #expect(result.ips == [.init(address: "10.1.0.5/16", gateway: "10.1.0.1"), .init(address: "fd00::5/64")])
    #expect(result.routes == [.init(destination: "0.0.0.0/0", gateway: "10.1.0.1"), .init(destination: "::/0")])
    #expect(result.dns == .init(nameservers: ["10.1.0.1"], domain: "example"))
    #expect(result.interfaces.isEmpty)
    #expect(try CNIResult(json: result.json, defaultVersion: "0.2.0") == result)
  }

  @Test func parsesAndReencodes040LikeLibcni() throws {
    let result = try CNIResult(data: Array(Self.result040.utf8), defaultVersion: "1.0.0")
    #expect(result.interfaces.count == 3)
    #expect(result.interfaces[2].sandbox == "/run/netns/netns-c39b9da7")
    #expect(result.ips.map(\.interface) == [2, 2, 2])
    #expect(result.ips.map(\.version) == ["4", "4", "6"])
    let expected = try JSONValue.parse(Self.result040)
    #expect(result.json == expected)
  }

  @Test func parses110WithAllAttributes() throws {
    let result = try CNIResult(data: Array(Self.result110.utf8), defaultVersion: "0.4.0")
    #expect(result.interfaces[0].mtu == 1400 && result.interfaces[0].pciID == "0000:00:01.0")
    #expect(result.routes[0].table == 100 && result.routes[0].scope == 0)
    #expect(result.json == (try JSONValue.parse(Self.result110)))
  }

  @Test func aResultWithoutVersionTakesTheDefault() throws {
    let result = try CNIResult(
      data: Array(#"{"ips":[{"address":"10.0.0.2/8"}]}"#.utf8), defaultVersion: "0.3.1")
    #expect(result.cniVersion == "0.3.1")
    #expect(result.json == ["cniVersion": "0.3.1", "ips": [["version": "4", "address": "10.0.0.2/8"]], "dns": [:]])
  }

  @Test func conversionDownToLegacyKeepsTheFirstAddressOfEachFamily() throws {
    let result = try CNIResult(data: Array(Self.result040.utf8), defaultVersion: "0.4.0")
    let legacy = try result.converted(to: "0.2.0")
    #expect(
      legacy.json
        == [
          "cniVersion": "0.2.0",
          "ip4": ["ip": "10.231.20.50/24", "gateway": "10.231.20.1", "routes": [["dst": "0.0.0.0/0"]]],
          "ip6": ["ip": "fd00::50/64", "gateway": "fd00::1", "routes": [["dst": "::/0", "gw": "fd00::1"]]],
          "dns": [:],
        ])
    // Up again: the interfaces are gone for good, as with libcni.
    let back = try legacy.converted(to: "1.0.0")
    #expect(back.interfaces.isEmpty)
    #expect(back.ips.map(\.address) == ["10.231.20.50/24", "fd00::50/64"])
    #expect(back.ips.allSatisfy { $0.interface == nil })
  }

  @Test func conversionTo040AddsVersionAndDrops11Attributes() throws {
    let result = try CNIResult(data: Array(Self.result110.utf8), defaultVersion: "1.1.0")
    let converted = try result.converted(to: "0.4.0")
    #expect(
      converted.json
        == [
          "cniVersion": "0.4.0",
          "interfaces": [["name": "eth0", "mac": "02:00:00:00:00:01", "sandbox": "/run/netns/x"]],
          "ips": [["version": "4", "interface": 0, "address": "10.2.0.7/24", "gateway": "10.2.0.1"]],
          "routes": [["dst": "0.0.0.0/0", "gw": "10.2.0.1"]],
          "dns": ["nameservers": ["10.2.0.1"], "search": ["a.example"], "options": ["ndots:2"]],
        ])
    #expect(try result.converted(to: "1.0.0").interfaces[0].mtu == nil)
    #expect(try result.converted(to: "1.1.0") == result)
  }

  @Test(arguments: ["0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"])
  func everyVersionRoundTripsThroughItsJSON(version: String) throws {
    let result = try CNIResult(data: Array(Self.result040.utf8), defaultVersion: "0.4.0").converted(to: version)
    #expect(result.cniVersion == version)
    #expect(try CNIResult(json: result.json, defaultVersion: "9.9.9") == result)
  }

  @Test func legacyNeedsAnAddress() throws {
    let empty = CNIResult(cniVersion: "1.0.0", interfaces: [.init(name: "eth0")])
    #expect(throws: CNIError.self) { try empty.converted(to: "0.2.0") }
  }

  @Test(arguments: [
    #"{"cniVersion":"2.0.0"}"#,
    #"{"cniVersion":"1.0.0","ips":[{"address":"10.0.0.300/24"}]}"#,
    #"{"cniVersion":"1.0.0","ips":[{"address":"10.0.0.3"}]}"#,
    #"{"cniVersion":"1.0.0","ips":{}}"#,
    #"{"cniVersion":"0.2.0","ip4":{"ip":"nope/24"}}"#,
    #"[]"#,
    "",
  ])
  func invalidResultsAreRejected(text: String) {
    #expect(throws: CNIError.self) { try CNIResult(data: Array(text.utf8), defaultVersion: "1.0.0") }
  }
}
