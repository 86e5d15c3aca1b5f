import NetworkAddress
import Testing

@Suite struct MACAddressTests {
  @Test(arguments: [
    ("aa:bb:cc:dd:ee:ff", "aa:bb:cc:dd:ee:ff"),
    ("AA:BB:CC:DD:EE:FF", "aa:bb:cc:dd:ee:ff"),
    ("aa-bb-cc-dd-ee-ff", "aa:bb:cc:dd:ee:ff"),
    ("Aa-bB-0c-Dd-eE-0f", "aa:bb:0c:dd:ee:0f"),
    ("02:42:ac:11:00:02", "02:42:ac:11:00:02"),
    ("00:00:00:00:00:00", "00:00:00:00:00:00"),
    ("aabb.ccdd.eeff", "aa:bb:cc:dd:ee:ff"),  // Go's ParseMAC reads this form too
  ])
  func parsesValid(text: String, canonical: String) throws {
    let mac = try #require(MACAddress(text))
    #expect(mac.description == canonical)
    #expect(mac.bytes.count == 6)
  }

  @Test(arguments: [
    "", "aa:bb:cc:dd:ee", "aa:bb:cc:dd:ee:ff:00", "aa:bb:cc:dd:ee:f", "a:bb:cc:dd:ee:ff", "aa:bb:cc:dd:ee:fff",
    "aa:bb-cc:dd:ee:ff", "aa-bb-cc-dd-ee:ff", "aa.bb.cc.dd.ee.ff", "aabbccddeeff", "aa:bb:cc:dd:ee:gg",
    " aa:bb:cc:dd:ee:ff", "aa:bb:cc:dd:ee:ff ", "aa::bb:cc:dd:ee:f", "aabb.ccdd.eef", "aabb:ccdd:eeff",
    "00:00:00:00:fe:80:00:00:00:00:00:00:02:00:5e:10:00:00:00:01",  // 20-byte InfiniBand: not Ethernet
    "+a:bb:cc:dd:ee:ff",
  ])
  func rejectsInvalid(text: String) {
    #expect(MACAddress(text) == nil)
    #expect(throws: AddressError(.invalidMAC, text)) { try MACAddress.parse(text) }
  }

  @Test func bytesAndBits() {
    #expect(MACAddress(bytes: [2, 0x42, 0xAC, 0x11, 0, 2])?.description == "02:42:ac:11:00:02")
    #expect(MACAddress(bytes: [1, 2, 3]) == nil)
    #expect(MACAddress("02:00:00:00:00:00")!.isLocallyAdministered)
    #expect(!MACAddress("00:16:3e:00:00:00")!.isLocallyAdministered)
    #expect(MACAddress("01:00:5e:00:00:01")!.isMulticast)
    #expect(!MACAddress("02:00:5e:00:00:01")!.isMulticast)
  }

  @Test func formatThenParseIsIdentity() {
    property("MAC format∘parse") { random in
      let mac = random.mac()
      let text = mac.description
      try check(MACAddress(text) == mac, "\(text) does not parse back to \(mac.bytes)")
      let dashed = String(text.map { $0 == ":" ? "-" : $0 }).uppercased()
      try check(MACAddress(dashed) == mac, "\(dashed) does not parse to \(text)")
    }
  }
}
