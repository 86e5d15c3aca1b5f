/// An IPv4 address, stored in host byte order (`10.0.0.1` is `0x0A00_0001`).
public struct IPv4Address: Hashable, Comparable, Sendable, LosslessStringConvertible, Codable {
  /// The 32-bit value; the first octet is the most significant byte.
  public var value: UInt32

  /// Creates an address from its 32-bit value.
  public init(_ value: UInt32) {
    self.value = value
  }

  /// Creates an address from its four octets, most significant first.
  public init(_ a: UInt8, _ b: UInt8, _ c: UInt8, _ d: UInt8) {
    value = UInt32(a) << 24 | UInt32(b) << 16 | UInt32(c) << 8 | UInt32(d)
  }

  /// Parses a dotted quad such as `"192.168.1.10"`.
  ///
  /// Accepts exactly what Go's `net.ParseIP` accepts for IPv4 (Go ≥ 1.17): four decimal fields of 0...255,
  /// no sign, no spaces, and no leading zeros (`"010.1.1.1"` is rejected because other parsers read it as octal).
  public init?(_ text: String) {
    guard let value = IPv4Address.parseValue(Array(text.utf8)[...]) else { return nil }
    self.value = value
  }

  /// The four octets, most significant first.
  public var octets: [UInt8] {
    [
      UInt8(value >> 24), UInt8(truncatingIfNeeded: value >> 16), UInt8(truncatingIfNeeded: value >> 8),
      UInt8(truncatingIfNeeded: value),
    ]
  }

  /// The dotted-quad text, e.g. `"10.88.0.1"`.
  public var description: String {
    "\(value >> 24).\((value >> 16) & 0xFF).\((value >> 8) & 0xFF).\(value & 0xFF)"
  }

  public static func < (lhs: IPv4Address, rhs: IPv4Address) -> Bool {
    lhs.value < rhs.value
  }

  public init(from decoder: any Decoder) throws {
    self = try decodeFromString(decoder, kind: "IPv4 address")
  }

  public func encode(to encoder: any Encoder) throws {
    var container = encoder.singleValueContainer()
    try container.encode(description)
  }

  /// Parses a whole dotted quad; shared with the IPv6 parser for the embedded-IPv4 tail.
  static func parseValue(_ bytes: ArraySlice<UInt8>) -> UInt32? {
    var index = bytes.startIndex
    var result: UInt32 = 0
    for field in 0..<4 {
      if field > 0 {
        guard index < bytes.endIndex, bytes[index] == UInt8(ascii: ".") else { return nil }
        index += 1
      }
      let start = index
      var octet: UInt32 = 0
      while index < bytes.endIndex, index - start < 3, let digit = decimalDigit(bytes[index]) {
        octet = octet * 10 + UInt32(digit)
        index += 1
      }
      let count = index - start
      guard count > 0, octet <= 255 else { return nil }
      guard count == 1 || bytes[start] != UInt8(ascii: "0") else { return nil }
      result = result << 8 | octet
    }
    return index == bytes.endIndex ? result : nil
  }
}
