/// A CIDR network such as `10.88.0.0/16` or `fd00::/64`.
///
/// The address is kept as written: `10.88.0.5/16` is a valid value distinct from `10.88.0.0/16`, because CNI
/// interface addresses carry the host address together with the prefix. Use ``masked`` for the network itself.
public struct IPNetwork: Hashable, Sendable, LosslessStringConvertible, Codable {
  /// The address as given; host bits may be set.
  public var address: IPAddress
  /// The number of leading network bits: 0...32 for IPv4, 0...128 for IPv6.
  public var prefixLength: Int

  /// Creates a network, keeping `address` as given.
  ///
  /// - Throws: `.invalidPrefixLength` when `prefixLength` is outside 0...`address.bitWidth`.
  public init(address: IPAddress, prefixLength: Int) throws(AddressError) {
    guard (0...address.bitWidth).contains(prefixLength) else {
      throw AddressError(.invalidPrefixLength, "\(address)/\(prefixLength)")
    }
    self.address = address
    self.prefixLength = prefixLength
  }

  /// Creates a network from values already known to be valid.
  init(unchecked address: IPAddress, prefixLength: Int) {
    self.address = address
    self.prefixLength = prefixLength
  }

  /// Parses `"a.b.c.d/n"` or `"<ipv6>/n"`; nil for anything else (see ``parse(_:)``).
  public init?(_ text: String) {
    guard let network = try? IPNetwork.parse(text) else { return nil }
    self = network
  }

  /// Parses `"a.b.c.d/n"` or `"<ipv6>/n"` as Go's `net.ParseCIDR` does, keeping the address as written.
  ///
  /// The prefix is decimal digits only (leading zeros allowed, as in Go); no spaces or stray text anywhere.
  /// - Throws: `.invalidPrefixLength` when only the prefix is out of range, `.invalidNetwork` otherwise;
  ///   both carry the whole text.
  public static func parse(_ text: String) throws(AddressError) -> IPNetwork {
    let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
    guard parts.count == 2, let address = IPAddress(String(parts[0])) else {
      throw AddressError(.invalidNetwork, text)
    }
    var prefix = 0
    for byte in parts[1].utf8 {
      guard let digit = decimalDigit(byte) else { throw AddressError(.invalidNetwork, text) }
      prefix = prefix * 10 + Int(digit)
      if prefix > 128 { throw AddressError(.invalidPrefixLength, text) }
    }
    guard !parts[1].isEmpty else { throw AddressError(.invalidNetwork, text) }
    guard prefix <= address.bitWidth else { throw AddressError(.invalidPrefixLength, text) }
    return IPNetwork(unchecked: address, prefixLength: prefix)
  }

  /// Whether this is an IPv6 network.
  public var isIPv6: Bool { address.isIPv6 }

  /// Whether this is an IPv4 network.
  public var isIPv4: Bool { address.isIPv4 }

  /// The number of host bits: the address width minus the prefix length.
  public var hostBitCount: Int { address.bitWidth - prefixLength }

  /// The bits of an address that vary inside this network.
  var hostMask: UInt128 {
    hostBitCount == 128 ? UInt128.max : (1 << hostBitCount) - 1
  }

  var networkValue: UInt128 { address.value & ~hostMask }
  var broadcastValue: UInt128 { address.value | hostMask }

  /// The same network with the host bits of the address cleared.
  public var masked: IPNetwork {
    IPNetwork(unchecked: networkAddress, prefixLength: prefixLength)
  }

  /// The first address of the range.
  public var networkAddress: IPAddress { address.withValue(networkValue) }

  /// The last address of the range (for IPv6 too, which has no broadcast).
  public var broadcastAddress: IPAddress { address.withValue(broadcastValue) }

  /// The first address to give to a host.
  ///
  /// The network address plus one, except where that would leave nothing: IPv4 /31 and IPv6 /127 are
  /// point-to-point links whose both addresses are usable (RFC 3021, RFC 6164), so the network address itself;
  /// /32 and /128 hold one address, which is returned.
  public var firstHost: IPAddress {
    hostBitCount <= 1 ? networkAddress : address.withValue(networkValue + 1)
  }

  /// The last address to give to a host.
  ///
  /// IPv4: the broadcast address minus one, except /31 and /32, where the last address is usable.
  /// IPv6: the last address, since IPv6 has no broadcast.
  public var lastHost: IPAddress {
    isIPv4 && hostBitCount > 1 ? address.withValue(broadcastValue - 1) : broadcastAddress
  }

  /// The address `n` after the network address: `host(0)` is the network address, `host(1)` the first host
  /// of a /30 or larger, and the largest valid `n` gives ``broadcastAddress``.
  ///
  /// - Throws: `.outOfRange` when `n` lies past the end of the network.
  public func host(_ n: UInt128) throws(AddressError) -> IPAddress {
    guard n <= hostMask else { throw AddressError(.outOfRange, "host \(n) of \(masked)") }
    return address.withValue(networkValue + n)
  }

  /// The position of `address` in this network (0 for the network address), or nil when it lies outside.
  public func offset(of address: IPAddress) -> UInt128? {
    contains(address) ? address.value - networkValue : nil
  }

  /// The number of addresses in the range, `2^hostBitCount`.
  ///
  /// `::/0` holds 2^128 addresses, one more than `UInt128` can count: it reports `UInt128.max`.
  public var addressCount: UInt128 {
    hostBitCount == 128 ? UInt128.max : 1 << hostBitCount
  }

  /// Whether `address` is of the same family and lies in this network.
  public func contains(_ address: IPAddress) -> Bool {
    address.isIPv6 == isIPv6 && address.value & ~hostMask == networkValue
  }

  /// Whether every address of `other` lies in this network (a network contains itself).
  public func contains(_ other: IPNetwork) -> Bool {
    other.prefixLength >= prefixLength && contains(other.address)
  }

  /// Whether the two networks share at least one address; networks of different families never overlap.
  public func overlaps(_ other: IPNetwork) -> Bool {
    prefixLength <= other.prefixLength ? contains(other.address) : other.contains(address)
  }

  /// The next network of the same size: `10.89.255.0/24` → `10.90.0.0/24`. The result is masked.
  ///
  /// - Throws: `.addressSpaceExhausted` when this is the last network of its size.
  public func nextSubnet() throws(AddressError) -> IPNetwork {
    guard let next = address.withValue(broadcastValue).advanced(by: 1) else {
      throw AddressError(.addressSpaceExhausted, masked.description)
    }
    return IPNetwork(unchecked: next, prefixLength: prefixLength)
  }

  /// A random IPv6 unique local network (RFC 4193): `fd` followed by a random 40-bit global ID and a random
  /// 16-bit subnet ID, as a /64.
  public static func randomUniqueLocal() -> IPNetwork {
    var generator = SystemRandomNumberGenerator()
    return randomUniqueLocal(using: &generator)
  }

  /// ``randomUniqueLocal()`` with the caller's random number generator, for reproducible results.
  public static func randomUniqueLocal(using generator: inout some RandomNumberGenerator) -> IPNetwork {
    let randomBits = UInt128(generator.next() as UInt64 >> 8)
    let value = (0xFD << 56 | randomBits) << 64
    return IPNetwork(unchecked: .v6(IPv6Address(value)), prefixLength: 64)
  }

  /// `"address/prefix"`, with the address as given in its canonical text.
  public var description: String {
    "\(address)/\(prefixLength)"
  }

  public init(from decoder: any Decoder) throws {
    self = try decodeFromString(decoder, kind: "CIDR address")
  }

  public func encode(to encoder: any Encoder) throws {
    var container = encoder.singleValueContainer()
    try container.encode(description)
  }
}
