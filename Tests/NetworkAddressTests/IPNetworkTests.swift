import NetworkAddress
import TestSupport
import Testing

@Suite struct IPNetworkTests {
  @Test(arguments: [
    ("10.88.0.0/16", "10.88.0.0/16", "10.88.0.0/16"),
    ("10.88.0.5/16", "10.88.0.5/16", "10.88.0.0/16"),  // the address is kept as written
    ("0.0.0.0/0", "0.0.0.0/0", "0.0.0.0/0"),
    ("255.255.255.255/32", "255.255.255.255/32", "255.255.255.255/32"),
    ("192.168.1.77/26", "192.168.1.77/26", "192.168.1.64/26"),
    ("10.0.0.0/08", "10.0.0.0/8", "10.0.0.0/8"),  // Go reads a zero-padded prefix, so do we
    ("fd00::/64", "fd00::/64", "fd00::/64"),
    ("2001:DB8:0:0::1/64", "2001:db8::1/64", "2001:db8::/64"),
    ("::/0", "::/0", "::/0"),
    ("::1/128", "::1/128", "::1/128"),
    ("::ffff:1.2.3.4/120", "::ffff:1.2.3.4/120", "::ffff:1.2.3.0/120"),
    ("fd12:3456:789a:1::7/48", "fd12:3456:789a:1::7/48", "fd12:3456:789a::/48"),
  ])
  func parsesValid(text: String, canonical: String, masked: String) throws {
    let network = try #require(IPNetwork(text))
    #expect(network.description == canonical)
    #expect(network.masked.description == masked)
    #expect(try IPNetwork.parse(text) == network)
  }

  @Test(arguments: [
    ("10.300.0.0/24", AddressError.Kind.invalidNetwork),
    ("10.0.0.0/33", .invalidPrefixLength),
    ("10.0.0.0/128", .invalidPrefixLength),
    ("fd00::/129", .invalidPrefixLength),
    ("fd00::/1000000000000000000000", .invalidPrefixLength),
    ("10.0.0.0/-1", .invalidNetwork),
    ("10.0.0.0/+24", .invalidNetwork),
    ("/", .invalidNetwork),
    ("", .invalidNetwork),
    ("/24", .invalidNetwork),
    ("10.0.0.0", .invalidNetwork),
    ("10.0.0.0/", .invalidNetwork),
    ("10.0.0.0/24 ", .invalidNetwork),
    (" 10.0.0.0/24", .invalidNetwork),
    ("10.0.0.0 /24", .invalidNetwork),
    ("10.0.0.0/ 24", .invalidNetwork),
    ("10.0.0.0/24/24", .invalidNetwork),
    ("10.0.0.0/2x", .invalidNetwork),
    ("10.0.0.0/0x10", .invalidNetwork),
    ("10.0.0/24", .invalidNetwork),
    ("010.0.0.0/24", .invalidNetwork),
    ("fd00::1%eth0/64", .invalidNetwork),
    ("fd00:::/64", .invalidNetwork),
    ("10.0.0.0/２４", .invalidNetwork),
  ])
  func rejectsInvalid(text: String, kind: AddressError.Kind) {
    #expect(IPNetwork(text) == nil)
    #expect(throws: AddressError(kind, text)) { try IPNetwork.parse(text) }
  }

  @Test(arguments: [-1, 33, 129, Int.min, Int.max])
  func rejectsPrefixLengthOutOfRange(prefixLength: Int) {
    let address = IPAddress("10.0.0.0")!
    #expect(throws: AddressError(.invalidPrefixLength, "10.0.0.0/\(prefixLength)")) {
      try IPNetwork(address: address, prefixLength: prefixLength)
    }
  }

  struct Range: Sendable, CustomTestStringConvertible {
    var cidr: String
    var network: String
    var broadcast: String
    var firstHost: String
    var lastHost: String
    var count: UInt128
    var testDescription: String { cidr }
  }

  @Test(arguments: [
    Range(
      cidr: "10.88.0.5/16", network: "10.88.0.0", broadcast: "10.88.255.255", firstHost: "10.88.0.1",
      lastHost: "10.88.255.254", count: 65536),
    Range(
      cidr: "192.168.1.0/30", network: "192.168.1.0", broadcast: "192.168.1.3", firstHost: "192.168.1.1",
      lastHost: "192.168.1.2", count: 4),
    // A /31 is a point-to-point link: both addresses are hosts (RFC 3021).
    Range(
      cidr: "192.168.1.1/31", network: "192.168.1.0", broadcast: "192.168.1.1", firstHost: "192.168.1.0",
      lastHost: "192.168.1.1", count: 2),
    Range(
      cidr: "192.168.1.7/32", network: "192.168.1.7", broadcast: "192.168.1.7", firstHost: "192.168.1.7",
      lastHost: "192.168.1.7", count: 1),
    Range(
      cidr: "0.0.0.0/0", network: "0.0.0.0", broadcast: "255.255.255.255", firstHost: "0.0.0.1",
      lastHost: "255.255.255.254", count: 1 << 32),
    // IPv6 has no broadcast: the last address is a host.
    Range(
      cidr: "fd00::5/64", network: "fd00::", broadcast: "fd00::ffff:ffff:ffff:ffff", firstHost: "fd00::1",
      lastHost: "fd00::ffff:ffff:ffff:ffff", count: 1 << 64),
    Range(
      cidr: "2001:db8::/126", network: "2001:db8::", broadcast: "2001:db8::3", firstHost: "2001:db8::1",
      lastHost: "2001:db8::3", count: 4),
    Range(
      cidr: "2001:db8::1/127", network: "2001:db8::", broadcast: "2001:db8::1", firstHost: "2001:db8::",
      lastHost: "2001:db8::1", count: 2),
    Range(
      cidr: "2001:db8::1/128", network: "2001:db8::1", broadcast: "2001:db8::1", firstHost: "2001:db8::1",
      lastHost: "2001:db8::1", count: 1),
    Range(
      cidr: "::/0", network: "::", broadcast: "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", firstHost: "::1",
      lastHost: "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", count: .max),
  ])
  func rangeBoundaries(range: Range) throws {
    let network = try #require(IPNetwork(range.cidr))
    #expect(network.networkAddress.description == range.network)
    #expect(network.broadcastAddress.description == range.broadcast)
    #expect(network.firstHost.description == range.firstHost)
    #expect(network.lastHost.description == range.lastHost)
    #expect(network.addressCount == range.count)
  }

  @Test(arguments: [
    ("10.0.0.0/24", 0 as UInt128, "10.0.0.0"),
    ("10.0.0.0/24", 1, "10.0.0.1"),
    ("10.0.0.77/24", 2, "10.0.0.2"),
    ("10.0.0.0/24", 255, "10.0.0.255"),
    ("10.0.0.0/8", 65536, "10.1.0.0"),
    ("fd00::/64", 1, "fd00::1"),
    ("fd00::/64", 0xFFFF_FFFF_FFFF_FFFF, "fd00::ffff:ffff:ffff:ffff"),
    ("::/0", .max, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"),
  ])
  func hostOffsets(cidr: String, n: UInt128, expected: String) throws {
    let network = try #require(IPNetwork(cidr))
    let host = try network.host(n)
    #expect(host.description == expected)
    #expect(network.offset(of: host) == n)
  }

  @Test(arguments: [
    ("10.0.0.0/24", 256 as UInt128),
    ("10.0.0.7/32", 1),
    ("0.0.0.0/0", 1 << 32),
    ("fd00::/64", 1 << 64),
    ("::1/128", .max),
  ])
  func hostOutsideTheNetworkThrows(cidr: String, n: UInt128) throws {
    let network = try #require(IPNetwork(cidr))
    #expect(throws: AddressError(.outOfRange, "host \(n) of \(network.masked)")) { try network.host(n) }
  }

  @Test(arguments: [
    ("10.89.255.0/24", "10.90.0.0/24"),
    ("10.89.0.5/24", "10.89.1.0/24"),
    ("10.0.0.0/8", "11.0.0.0/8"),
    ("10.0.0.4/30", "10.0.0.8/30"),
    ("10.0.0.255/32", "10.0.1.0/32"),
    ("127.255.255.255/1", "128.0.0.0/1"),
    ("fd00::/64", "fd00:0:0:1::/64"),
    ("fd00:0:0:ffff::/64", "fd00:0:1::/64"),
    ("::ffff:ffff/128", "::1:0:0/128"),
  ])
  func nextSubnet(cidr: String, next: String) throws {
    #expect(try IPNetwork(cidr)!.nextSubnet().description == next)
  }

  @Test(arguments: [
    "255.255.255.0/24", "255.255.255.255/32", "255.255.255.254/31", "128.0.0.0/1", "0.0.0.0/0",
    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128", "ffff::/16", "::/0",
  ])
  func nextSubnetAtTheEndThrows(cidr: String) throws {
    let network = try #require(IPNetwork(cidr))
    #expect(throws: AddressError(.addressSpaceExhausted, network.masked.description)) { try network.nextSubnet() }
  }

  @Test(arguments: [
    ("10.0.0.0/8", "10.1.2.3", true),
    ("10.0.0.5/24", "10.0.0.255", true),
    ("10.0.0.0/24", "10.0.1.0", false),
    ("0.0.0.0/0", "255.255.255.255", true),
    ("0.0.0.0/0", "::", false),  // families never mix
    ("::/0", "0.0.0.0", false),
    ("::/96", "::1.2.3.4", true),
    ("::ffff:0:0/96", "::ffff:1.2.3.4", true),
    ("::ffff:0:0/96", "1.2.3.4", false),
    ("fd00::/64", "fd00::ffff:ffff:ffff:ffff", true),
    ("fd00::/64", "fd00:0:0:1::", false),
    ("10.0.0.1/32", "10.0.0.1", true),
    ("10.0.0.1/32", "10.0.0.2", false),
  ])
  func containsAddress(cidr: String, address: String, expected: Bool) {
    #expect(IPNetwork(cidr)!.contains(IPAddress(address)!) == expected)
  }

  @Test(arguments: [
    ("10.0.0.0/8", "10.1.0.0/16", true, true),
    ("10.1.0.0/16", "10.0.0.0/8", false, true),
    ("10.0.0.0/24", "10.0.0.0/24", true, true),
    ("10.0.0.0/24", "10.0.0.77/24", true, true),
    ("10.0.0.0/24", "10.0.1.0/24", false, false),
    ("10.0.0.0/23", "10.0.1.0/24", true, true),
    ("10.0.0.128/25", "10.0.0.0/25", false, false),
    ("0.0.0.0/0", "192.168.0.0/16", true, true),
    ("0.0.0.0/0", "::/0", false, false),
    ("::/0", "fd00::/64", true, true),
    ("fd00::/64", "fd00::/48", false, true),
    ("fd00::/64", "fd01::/64", false, false),
  ])
  func containsAndOverlapsNetworks(lhs: String, rhs: String, contains: Bool, overlaps: Bool) {
    let a = IPNetwork(lhs)!
    let b = IPNetwork(rhs)!
    #expect(a.contains(b) == contains)
    #expect(a.overlaps(b) == overlaps)
    #expect(b.overlaps(a) == overlaps)
  }

  @Test func randomUniqueLocalIsAnFdSlash64() {
    let network = IPNetwork.randomUniqueLocal()
    #expect(network.description.hasPrefix("fd"))
    #expect(network.prefixLength == 64)
    property("unique local networks") { random in
      let network = IPNetwork.randomUniqueLocal(using: &random)
      try check(network.isIPv6 && network.prefixLength == 64, "\(network) is not a v6 /64")
      try check(network.description.hasPrefix("fd"), "\(network) does not start with fd")
      try check(IPNetwork("fd00::/8")!.contains(network), "\(network) is outside fd00::/8")
      try check(network.masked == network, "\(network) has host bits")
      try check(IPNetwork(network.description) == network, "\(network) does not round-trip")
    }
  }

  @Test func randomUniqueLocalUsesAllFiftySixBits() {
    var random = SeededGenerator(seed: propertySeed)
    let networks = (0..<512).map { _ in IPNetwork.randomUniqueLocal(using: &random).address.value >> 64 }
    let varying = networks.reduce(UInt128(0)) { $0 | ($1 ^ networks[0]) }
    #expect(varying == (1 << 56) - 1)
  }

  // MARK: - Properties

  @Test func formatThenParseIsIdentity() {
    property("network format∘parse") { random in
      let network = random.network()
      try check(IPNetwork(network.description) == network, "\(network) does not round-trip")
      try check(IPNetwork(network.masked.description) == network.masked, "\(network.masked) does not round-trip")
    }
  }

  @Test func containsAndOverlapsAgree() {
    property("contains/overlaps") { random in
      let a = random.network()
      let b = random.chance(0.9) ? random.network(near: a) : random.network()
      let overlaps = a.overlaps(b)
      try check(
        overlaps == (a.contains(b.networkAddress) || b.contains(a.networkAddress)),
        "\(a) overlaps \(b) = \(overlaps) disagrees with contains")
      try check(overlaps == b.overlaps(a), "overlaps is not symmetric for \(a), \(b)")
      let familiesMatch = a.isIPv6 == b.isIPv6
      let byRange =
        familiesMatch && a.networkAddress <= b.broadcastAddress && b.networkAddress <= a.broadcastAddress
      try check(overlaps == byRange, "\(a) overlaps \(b) = \(overlaps) disagrees with the ranges")
      try check(
        a.contains(b)
          == (familiesMatch && a.networkAddress <= b.networkAddress && b.broadcastAddress <= a.broadcastAddress),
        "\(a) contains \(b) disagrees with the ranges")
      try check(!a.contains(b) || overlaps, "\(a) contains \(b) but does not overlap it")

      let address = random.chance(0.8) ? b.address : random.ipAddress()
      let sameMask =
        a.address.isIPv6 == address.isIPv6
        && (try! IPNetwork(address: address, prefixLength: a.prefixLength)).masked == a.masked
      try check(a.contains(address) == sameMask, "\(a) contains \(address) disagrees with masking")
    }
  }

  @Test func nextSubnetIsTheAdjacentNetworkOfTheSameSize() {
    property("nextSubnet") { random in
      let network = random.network()
      do {
        let next = try network.nextSubnet()
        try check(next.prefixLength == network.prefixLength, "\(next) after \(network) changed size")
        try check(
          next.networkAddress == network.broadcastAddress.advanced(by: 1), "\(next) is not adjacent to \(network)")
        try check(next.address == next.networkAddress, "\(next) is not masked")
        try check(next.networkAddress > network.broadcastAddress, "\(next) is not after \(network)")
        try check(!next.overlaps(network), "\(next) overlaps \(network)")
      } catch {
        try check(
          network.broadcastAddress.advanced(by: 1) == nil, "nextSubnet of \(network) threw \(error) before the end")
      }
    }
  }

  @Test func hostLiesInTheNetwork() {
    property("host(n)") { random in
      let network = random.network()
      let mask = network.addressCount == .max ? UInt128.max : network.addressCount - 1
      let n =
        random.chance(0.5) ? UInt128.random(in: 0...mask, using: &random) : random.element(of: [0, min(1, mask), mask])
      let host = try! network.host(n)
      try check(network.contains(host), "host(\(n)) = \(host) lies outside \(network)")
      try check(network.offset(of: host) == n, "offset of host(\(n)) in \(network) is not \(n)")
      try check(network.contains(network.firstHost), "first host of \(network) lies outside")
      try check(network.contains(network.lastHost), "last host of \(network) lies outside")
      try check(network.firstHost <= network.lastHost, "first host of \(network) is after the last")
      if mask < UInt128.max {
        try check((try? network.host(mask + 1)) == nil, "host(\(mask + 1)) of \(network) did not throw")
      }
    }
  }
}
