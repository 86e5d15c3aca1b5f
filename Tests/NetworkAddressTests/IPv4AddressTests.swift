import NetworkAddress
import Testing

@Suite struct IPv4AddressTests {
  @Test(arguments: [
    ("0.0.0.0", 0x0000_0000 as UInt32),
    ("255.255.255.255", 0xFFFF_FFFF),
    ("10.88.0.1", 0x0A58_0001),
    ("192.168.1.10", 0xC0A8_010A),
    ("1.2.3.4", 0x0102_0304),
    ("100.64.0.0", 0x6440_0000),
    ("0.0.0.1", 0x0000_0001),
    ("10.0.0.200", 0x0A00_00C8),
  ])
  func parsesValid(text: String, value: UInt32) throws {
    let address = try #require(IPv4Address(text))
    #expect(address.value == value)
    #expect(address.description == text)
  }

  @Test(arguments: [
    "", "1.2.3", "1.2.3.4.5", "256.1.1.1", "1.2.3.256", "1000.1.1.1",
    "010.1.1.1", "1.2.3.04", "00.1.1.1", "1.2.3.00",  // leading zeros: Go ≥ 1.17 rejects them
    "1..2.3", ".1.2.3", "1.2.3.", "1.2.3.4.", " 1.2.3.4", "1.2.3.4 ", "1. 2.3.4", "1.2.3.4\n",
    "+1.2.3.4", "-1.2.3.4", "1.2.3.4/24", "a.b.c.d", "0x1.2.3.4", "1.2.3.4a", "１.2.3.4", "::1", "::ffff:1.2.3.4",
    "4294967295", "1.2.3.-0",
  ])
  func rejectsInvalid(text: String) {
    #expect(IPv4Address(text) == nil)
  }

  @Test func octetsAndOrdering() {
    #expect(IPv4Address(10, 88, 0, 1) == IPv4Address("10.88.0.1"))
    #expect(IPv4Address(10, 88, 0, 1).octets == [10, 88, 0, 1])
    #expect(IPv4Address("9.255.255.255")! < IPv4Address("10.0.0.0")!)
  }

  @Test func formatThenParseIsIdentity() {
    property("IPv4 format∘parse") { random in
      let address = random.ipv4()
      let text = address.description
      try check(IPv4Address(text) == address, "\(text) does not parse back to \(address.value)")
      try check(IPAddress(text) == .v4(address), "\(text) does not parse as IPAddress")
    }
  }
}
