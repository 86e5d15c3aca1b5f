import Foundation
import NetworkAddress
import Testing

@Suite struct AddressErrorTests {
  @Test func messagesNameTheBadValue() throws {
    func message(_ body: () throws -> Void) -> String? {
      do {
        try body()
        return nil
      } catch {
        return (error as? AddressError)?.description ?? "not an AddressError: \(error)"
      }
    }
    #expect(message { _ = try IPNetwork.parse("10.300.0.0/24") } == "invalid CIDR address: 10.300.0.0/24")
    #expect(message { _ = try IPNetwork.parse("10.0.0.0/33") } == "invalid prefix length: 10.0.0.0/33")
    #expect(message { _ = try IPAddress.parse("1.2.3") } == "invalid IP address: 1.2.3")
    #expect(message { _ = try MACAddress.parse("aa:bb") } == "invalid MAC address: aa:bb")
    let address = IPAddress("fd00::")!
    #expect(
      message { _ = try IPNetwork(address: address, prefixLength: 129) } == "invalid prefix length: fd00::/129")
    let network = IPNetwork("10.0.0.9/24")!
    #expect(message { _ = try network.host(256) } == "address out of range: host 256 of 10.0.0.0/24")
    let last = IPNetwork("255.255.255.7/24")!
    #expect(
      message { _ = try last.nextSubnet() } == "no next subnet after 255.255.255.0/24: end of the address space")
    let allocator = SubnetAllocator(
      pools: [IPNetwork("10.0.0.0/30")!, IPNetwork("fd00::/126")!], subnetPrefixLength: 30)
    let used = [IPNetwork("10.0.0.0/8")!, IPNetwork("fd00::/64")!]
    #expect(
      message { _ = try allocator.firstFree(avoiding: used) }
        == "could not find free subnet from subnet pools: 10.0.0.0/30, fd00::/126")
  }

  @Test func errorsCompareByKindAndText() {
    #expect(AddressError(.invalidAddress, "x") == AddressError(.invalidAddress, "x"))
    #expect(AddressError(.invalidAddress, "x") != AddressError(.invalidNetwork, "x"))
    #expect(AddressError(.invalidAddress, "x") != AddressError(.invalidAddress, "y"))
    #expect("\(AddressError(.invalidAddress, "x"))" == "invalid IP address: x")
  }
}

@Suite struct CodableTests {
  struct Document: Codable, Equatable {
    var v4: IPv4Address
    var v6: IPv6Address
    var any: [IPAddress]
    var subnet: IPNetwork
    var mac: MACAddress
  }

  @Test func encodesAsCanonicalStrings() throws {
    let document = Document(
      v4: IPv4Address("10.88.0.1")!, v6: IPv6Address("2001:DB8:0::1")!,
      any: [IPAddress("10.0.0.1")!, IPAddress("::ffff:1.2.3.4")!], subnet: IPNetwork("10.88.0.5/16")!,
      mac: MACAddress("AA-BB-CC-DD-EE-0F")!)
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    let json = String(decoding: try encoder.encode(document), as: UTF8.self)
    #expect(
      json == #"{"any":["10.0.0.1","::ffff:1.2.3.4"],"mac":"aa:bb:cc:dd:ee:0f","subnet":"10.88.0.5/16","#
        + #""v4":"10.88.0.1","v6":"2001:db8::1"}"#)
    #expect(try JSONDecoder().decode(Document.self, from: Data(json.utf8)) == document)
  }

  @Test(arguments: [
    (#""10.300.0.0/24""#, "invalid CIDR address: 10.300.0.0/24"),
    (#""::1/129""#, "invalid CIDR address: ::1/129"),
  ])
  func decodingABadNetworkNamesTheValue(json: String, expected: String) {
    assertDataCorrupted(IPNetwork.self, json: json, expected: expected)
  }

  @Test func decodingBadValuesNamesThem() {
    assertDataCorrupted(IPv4Address.self, json: #""010.0.0.1""#, expected: "invalid IPv4 address: 010.0.0.1")
    assertDataCorrupted(IPv6Address.self, json: #""1::2::3""#, expected: "invalid IPv6 address: 1::2::3")
    assertDataCorrupted(IPAddress.self, json: #""10.0.0""#, expected: "invalid IP address: 10.0.0")
    assertDataCorrupted(MACAddress.self, json: #""aa:bb""#, expected: "invalid MAC address: aa:bb")
  }

  @Test func decodingANonStringFails() {
    #expect(throws: DecodingError.self) { try JSONDecoder().decode(IPAddress.self, from: Data("167772161".utf8)) }
  }

  private func assertDataCorrupted<T: Decodable>(
    _ type: T.Type, json: String, expected: String, sourceLocation: SourceLocation = #_sourceLocation
  ) {
    do {
      _ = try JSONDecoder().decode(type, from: Data(json.utf8))
      Issue.record("decoding \(json) succeeded", sourceLocation: sourceLocation)
    } catch DecodingError.dataCorrupted(let context) {
      #expect(context.debugDescription == expected, sourceLocation: sourceLocation)
    } catch {
      Issue.record("unexpected error \(error)", sourceLocation: sourceLocation)
    }
  }
}
