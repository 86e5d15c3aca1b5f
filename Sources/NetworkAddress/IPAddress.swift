/// An IPv4 or IPv6 address.
///
/// Ordering puts every IPv4 address before every IPv6 address, then orders by value.
public enum IPAddress: Hashable, Comparable, Sendable, LosslessStringConvertible, Codable {
  /// An IPv4 address.
  case v4(IPv4Address)
  /// An IPv6 address.
  case v6(IPv6Address)

  /// Parses an IPv4 dotted quad or IPv6 text; text containing `:` is read as IPv6.
  ///
  /// IPv4-mapped IPv6 text (`"::ffff:1.2.3.4"`) stays IPv6: unlike Go's `net.IP`, the family is what was written.
  public init?(_ text: String) {
    if text.utf8.contains(UInt8(ascii: ":")) {
      guard let address = IPv6Address(text) else { return nil }
      self = .v6(address)
    } else {
      guard let address = IPv4Address(text) else { return nil }
      self = .v4(address)
    }
  }

  /// Parses like ``init(_:)`` and throws an ``AddressError`` of kind `.invalidAddress` naming the text.
  public static func parse(_ text: String) throws(AddressError) -> IPAddress {
    guard let address = IPAddress(text) else { throw AddressError(.invalidAddress, text) }
    return address
  }

  /// Whether this is an IPv4 address.
  public var isIPv4: Bool {
    if case .v4 = self { true } else { false }
  }

  /// Whether this is an IPv6 address.
  public var isIPv6: Bool {
    if case .v6 = self { true } else { false }
  }

  /// 32 for IPv4, 128 for IPv6.
  public var bitWidth: Int {
    isIPv4 ? 32 : 128
  }

  /// The IPv4 address, if this is one.
  public var ipv4: IPv4Address? {
    if case .v4(let address) = self { address } else { nil }
  }

  /// The IPv6 address, if this is one.
  public var ipv6: IPv6Address? {
    if case .v6(let address) = self { address } else { nil }
  }

  /// The value, zero-extended to 128 bits for IPv4, so both families share one arithmetic.
  public var value: UInt128 {
    switch self {
    case .v4(let address): UInt128(address.value)
    case .v6(let address): address.value
    }
  }

  /// The largest value of this family.
  var maxValue: UInt128 {
    isIPv4 ? UInt128(UInt32.max) : UInt128.max
  }

  /// An address of the same family with `value`, which must fit the family.
  public func withValue(_ value: UInt128) -> IPAddress {
    switch self {
    case .v4: .v4(IPv4Address(UInt32(value)))
    case .v6: .v6(IPv6Address(value))
    }
  }

  /// The address `n` after this one, or nil when that passes the end of the family's address space.
  public func advanced(by n: UInt128) -> IPAddress? {
    let (sum, overflow) = value.addingReportingOverflow(n)
    guard !overflow, sum <= maxValue else { return nil }
    return withValue(sum)
  }

  /// The address `n` before this one, or nil when that passes the start of the address space.
  public func retreated(by n: UInt128) -> IPAddress? {
    guard n <= value else { return nil }
    return withValue(value - n)
  }

  /// The dotted quad for IPv4, the RFC 5952 canonical text for IPv6.
  public var description: String {
    switch self {
    case .v4(let address): address.description
    case .v6(let address): address.description
    }
  }

  public static func < (lhs: IPAddress, rhs: IPAddress) -> Bool {
    switch (lhs, rhs) {
    case (.v4(let a), .v4(let b)): a < b
    case (.v6(let a), .v6(let b)): a < b
    case (.v4, .v6): true
    case (.v6, .v4): false
    }
  }

  public init(from decoder: any Decoder) throws {
    self = try decodeFromString(decoder, kind: "IP address")
  }

  public func encode(to encoder: any Encoder) throws {
    var container = encoder.singleValueContainer()
    try container.encode(description)
  }
}
