import FoundationEssentials
import NetworkAddress
import Testing

@Suite struct IPv6AddressTests {
  @Test(arguments: [
    ("::", "::"),
    ("::1", "::1"),
    ("1::", "1::"),
    ("0:0:0:0:0:0:0:0", "::"),
    ("0:0:0:0:0:0:0:1", "::1"),
    ("1:0:0:0:0:0:0:0", "1::"),
    ("2001:db8::1", "2001:db8::1"),
    ("2001:DB8::1", "2001:db8::1"),  // lowercase
    ("2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1"),  // leading zeros suppressed
    ("2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"),  // tie: the first run is compressed
    ("2001:0:0:1:0:0:0:1", "2001:0:0:1::1"),  // the longest run is compressed
    ("1:0:0:0:2:0:0:0", "1::2:0:0:0"),
    ("2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"),  // a single zero group is not compressed
    ("2001:db8::0:1", "2001:db8::1"),
    ("2001:db8:0:0:0:0:2:1", "2001:db8::2:1"),
    ("1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8"),
    ("1:2:3:4:5:6:7::", "1:2:3:4:5:6:7:0"),  // `::` may stand for one group on input, never on output
    ("::2:3:4:5:6:7:8", "0:2:3:4:5:6:7:8"),
    ("1:2:3::5:6:7:8", "1:2:3:0:5:6:7:8"),
    ("fe80::1:2:3:4", "fe80::1:2:3:4"),
    ("fd00:abcd:0:0:0:0:0:0", "fd00:abcd::"),
    ("0001:0002::", "1:2::"),
    ("ABCD:EF01:2345:6789:ABCD:EF01:2345:6789", "abcd:ef01:2345:6789:abcd:ef01:2345:6789"),
    ("::ffff:1.2.3.4", "::ffff:1.2.3.4"),  // IPv4-mapped keeps the mixed notation (RFC 5952 §5)
    ("::FFFF:1.2.3.4", "::ffff:1.2.3.4"),
    ("::ffff:0102:0304", "::ffff:1.2.3.4"),
    ("0:0:0:0:0:ffff:10.0.0.1", "::ffff:10.0.0.1"),
    ("::ffff:0:0", "::ffff:0.0.0.0"),
    ("::1.2.3.4", "::102:304"),  // IPv4-compatible (deprecated) is plain hex
    ("1:2:3:4:5:6:1.2.3.4", "1:2:3:4:5:6:102:304"),
    ("64:ff9b::192.0.2.33", "64:ff9b::c000:221"),
    ("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"),
  ])
  func parsesAndFormatsCanonically(text: String, canonical: String) throws {
    let address = try #require(IPv6Address(text))
    #expect(address.description == canonical)
    #expect(IPv6Address(canonical) == address)
  }

  @Test func valuesAreBigEndianGroups() {
    #expect(IPv6Address("2001:db8::1")!.value == 0x2001_0DB8_0000_0000_0000_0000_0000_0001)
    #expect(IPv6Address("::ffff:1.2.3.4")!.value == 0xFFFF_0102_0304)
    #expect(IPv6Address("1:2:3:4:5:6:7:8")!.groups == [1, 2, 3, 4, 5, 6, 7, 8])
    #expect(IPv6Address(groups: [0x2001, 0xDB8, 0, 0, 0, 0, 0, 1]) == IPv6Address("2001:db8::1"))
    #expect(IPv6Address("::ffff:1.2.3.4")!.isIPv4Mapped)
    #expect(!IPv6Address("::1.2.3.4")!.isIPv4Mapped)
  }

  @Test(arguments: [
    "", ":", ":::", "1:", ":1", ":1::2", "1::2:", "1::2::3", "::1::", "1:::2",
    "1:2:3:4:5:6:7", "1:2:3:4:5:6:7:8:9", "1:2:3:4:5:6:7:8::", "::1:2:3:4:5:6:7:8", "1::2:3:4:5:6:7:8",
    "1:2:3:4:5:6:7:8:", "12345::", "::00001", "g::", "::g", "0x1::", "::-1", "::+1",
    "::1.2.3", "::1.2.3.4.5", "::256.1.1.1", "::010.1.1.1", "1.2.3.4::", "::1.2.3.4:5", "::1.2.3.4::",
    "1:2:3:4:5:6:7:1.2.3.4", "1:2:3:4:5:1.2.3.4", "::ffff:1.2.3.4.", "::1a.2.3.4",
    "fe80::1%eth0", " ::1", "::1 ", ": :1", "[::1]", "::1/64", "1.2.3.4", "２::",
  ])
  func rejectsInvalid(text: String) {
    #expect(IPv6Address(text) == nil)
  }

  @Test func formatThenParseIsIdentity() {
    property("IPv6 format∘parse") { random in
      let address = random.ipv6()
      let text = address.description
      try check(IPv6Address(text) == address, "\(text) does not parse back to \(address.groups)")
      try check(IPAddress(text) == .v6(address), "\(text) does not parse as IPAddress")
      try check(text == text.lowercased(), "\(text) is not lowercase")
      try check(text.components(separatedBy: "::").count <= 2, "\(text) has more than one ::")
      guard !address.isIPv4Mapped else { return }
      let written = text.split(separator: ":", omittingEmptySubsequences: true)
      try check(written.allSatisfy { $0 == "0" || !$0.hasPrefix("0") }, "\(text) has leading zeros")
      let longestZeroRun = address.groups.split(whereSeparator: { $0 != 0 }).map(\.count).max() ?? 0
      let expectedGroups = longestZeroRun >= 2 ? 8 - longestZeroRun : 8
      try check(written.count == expectedGroups, "\(text) does not compress the longest zero run")
    }
  }

  /// Any legal spelling (padding, case, full form, a different or no compression) parses to the same value.
  @Test func everySpellingParsesToTheSameValue() {
    property("IPv6 spellings") { random in
      let address = random.ipv6()
      var groups = address.groups.map { group -> String in
        var text = String(group, radix: 16, uppercase: random.chance(0.5))
        if random.chance(0.3) { text = String(repeating: "0", count: 4 - text.count) + text }
        return text
      }
      // Compress a random run of zero groups, not necessarily the longest.
      let zeroRuns: [Range<Int>] = (0..<8).flatMap { start in
        (start..<8).prefix { address.groups[$0] == 0 }.map { start..<($0 + 1) }
      }
      if random.chance(0.7), let run = zeroRuns.randomElement(using: &random) {
        groups.replaceSubrange(run, with: [""])
        if run.lowerBound == 0 { groups.insert("", at: 0) }
        if run.upperBound == 8 { groups.append("") }
      }
      let text = groups.joined(separator: ":")
      try check(IPv6Address(text) == address, "\(text) does not parse to \(address)")
    }
  }
}
