/// A 48-bit Ethernet MAC address.
public struct MACAddress: Hashable, Sendable, LosslessStringConvertible, Codable {
  /// The six bytes, in transmission order.
  public var bytes: [UInt8]

  /// Creates an address from exactly six bytes; nil for any other count.
  public init?(bytes: [UInt8]) {
    guard bytes.count == 6 else { return nil }
    self.bytes = bytes
  }

  /// A random locally administered unicast address, as netavark gives a container interface without a static one.
  public static func randomLocallyAdministered() -> MACAddress {
    var generator = SystemRandomNumberGenerator()
    var bytes = (0..<6).map { _ in UInt8.random(in: 0...255, using: &generator) }
    bytes[0] = (bytes[0] & 0xfe) | 0x02
    return MACAddress(bytes: bytes)!
  }

  /// Parses `"aa:bb:cc:dd:ee:ff"`, `"aa-bb-cc-dd-ee-ff"` (one separator throughout) or Go's dotted
  /// `"aabb.ccdd.eeff"`, hex digits in any case, exactly two digits per byte.
  ///
  /// Go's `net.ParseMAC` also reads 8- and 20-byte addresses; those are not Ethernet MACs and are rejected.
  public init?(_ text: String) {
    let utf8 = Array(text.utf8)
    let groupLength: Int
    let separator: UInt8
    switch utf8.count {
    case 17 where utf8[2] == UInt8(ascii: ":") || utf8[2] == UInt8(ascii: "-"):
      (groupLength, separator) = (2, utf8[2])
    case 14 where utf8[4] == UInt8(ascii: "."):
      (groupLength, separator) = (4, UInt8(ascii: "."))
    default:
      return nil
    }
    var bytes: [UInt8] = []
    bytes.reserveCapacity(6)
    var index = 0
    while index < utf8.count {
      if index > 0 {
        guard utf8[index] == separator else { return nil }
        index += 1
      }
      for _ in 0..<(groupLength / 2) {
        guard let high = hexDigit(utf8[index]), let low = hexDigit(utf8[index + 1]) else { return nil }
        bytes.append(high << 4 | low)
        index += 2
      }
    }
    self.bytes = bytes
  }

  /// Parses like ``init(_:)`` and throws an ``AddressError`` of kind `.invalidMAC` naming the text.
  public static func parse(_ text: String) throws(AddressError) -> MACAddress {
    guard let address = MACAddress(text) else { throw AddressError(.invalidMAC, text) }
    return address
  }

  /// Whether the locally administered bit is set (addresses a program made up rather than a vendor assigned).
  public var isLocallyAdministered: Bool { bytes.first.map { $0 & 0x02 != 0 } ?? false }

  /// Whether the group bit is set; such an address cannot be given to an interface.
  public var isMulticast: Bool { bytes.first.map { $0 & 0x01 != 0 } ?? false }

  /// Lowercase hex bytes joined by `:`, e.g. `"02:42:ac:11:00:02"`.
  public var description: String {
    bytes.map { $0 < 0x10 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined(separator: ":")
  }

  public init(from decoder: any Decoder) throws {
    self = try decodeFromString(decoder, kind: "MAC address")
  }

  public func encode(to encoder: any Encoder) throws {
    var container = encoder.singleValueContainer()
    try container.encode(description)
  }
}
