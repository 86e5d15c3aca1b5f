import NetworkAddress
import Testing

@Suite struct IPAddressTests {
  @Test(arguments: [
    ("10.0.0.1", false, "10.0.0.1"),
    ("::1", true, "::1"),
    ("::ffff:10.0.0.1", true, "::ffff:10.0.0.1"),  // the family is what was written
    ("FD00::A", true, "fd00::a"),
  ])
  func parsesEitherFamily(text: String, isIPv6: Bool, canonical: String) throws {
    let address = try #require(IPAddress(text))
    #expect(address.isIPv6 == isIPv6)
    #expect(address.isIPv4 == !isIPv6)
    #expect(address.bitWidth == (isIPv6 ? 128 : 32))
    #expect(address.description == canonical)
  }

  @Test(arguments: ["", "1.2.3", "1.2.3.4:80", "[::1]", "localhost", "::1%lo"])
  func rejectsInvalid(text: String) {
    #expect(IPAddress(text) == nil)
    #expect(throws: AddressError(.invalidAddress, text)) { try IPAddress.parse(text) }
  }

  @Test func ordersIPv4BeforeIPv6ThenByValue() {
    let texts = ["::1", "10.0.0.2", "fd00::", "10.0.0.1", "::", "255.255.255.255", "0.0.0.0"]
    let sorted = texts.map { IPAddress($0)! }.sorted().map(\.description)
    #expect(sorted == ["0.0.0.0", "10.0.0.1", "10.0.0.2", "255.255.255.255", "::", "::1", "fd00::"])
  }

  @Test func arithmeticStaysInTheFamily() {
    #expect(IPAddress("10.0.0.255")!.advanced(by: 1) == IPAddress("10.0.1.0"))
    #expect(IPAddress("255.255.255.255")!.advanced(by: 1) == nil)
    #expect(IPAddress("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")!.advanced(by: 1) == nil)
    #expect(IPAddress("::ffff:ffff")!.advanced(by: 1) == IPAddress("::1:0:0"))
    #expect(IPAddress("10.0.1.0")!.retreated(by: 1) == IPAddress("10.0.0.255"))
    #expect(IPAddress("0.0.0.0")!.retreated(by: 1) == nil)
    #expect(IPAddress("::")!.retreated(by: 1) == nil)
    #expect(IPAddress("1.2.3.4")!.ipv4 == IPv4Address(1, 2, 3, 4))
    #expect(IPAddress("1.2.3.4")!.ipv6 == nil)
    #expect(IPAddress("::1")!.ipv6 == IPv6Address(1))
  }
}
