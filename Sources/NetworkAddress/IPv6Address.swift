/// An IPv6 address as one 128-bit value (`2001:db8::1` is `0x2001_0db8_0000_…_0001`).
public struct IPv6Address: Hashable, Comparable, Sendable, LosslessStringConvertible, Codable {
  /// The 128-bit value; the first group is the most significant.
  public var value: UInt128

  /// Creates an address from its 128-bit value.
  public init(_ value: UInt128) {
    self.value = value
  }

  /// Creates an address from its eight 16-bit groups, most significant first.
  public init(groups: [UInt16]) {
    precondition(groups.count == 8, "an IPv6 address has 8 groups")
    value = groups.reduce(0) { $0 << 16 | UInt128($1) }
  }

  /// Parses RFC 4291 text: one to eight groups of one to four hex digits (any case), at most one `::`
  /// standing for one or more zero groups, and an optional dotted-quad tail for the last 32 bits
  /// (`"::ffff:1.2.3.4"`).
  ///
  /// Rejects zones (`"fe80::1%eth0"`), spaces, and groups of more than four digits (Go's `net.ParseIP` accepts
  /// `"00001"`; RFC 4291 and Go's `netip` do not).
  public init?(_ text: String) {
    guard let value = IPv6Address.parseValue(Array(text.utf8)[...]) else { return nil }
    self.value = value
  }

  /// The eight 16-bit groups, most significant first.
  public var groups: [UInt16] {
    (0..<8).map { UInt16(truncatingIfNeeded: value >> (112 - 16 * $0)) }
  }

  /// Whether this is an IPv4-mapped address (`::ffff:0:0/96`).
  public var isIPv4Mapped: Bool {
    value >> 32 == 0xFFFF
  }

  /// The RFC 5952 canonical text: lowercase, no leading zeros, the longest run of two or more zero groups
  /// (the first one on a tie) written as `::`, and IPv4-mapped addresses in mixed notation (`::ffff:1.2.3.4`).
  public var description: String {
    if isIPv4Mapped {
      return "::ffff:" + IPv4Address(UInt32(truncatingIfNeeded: value)).description
    }
    let groups = self.groups
    var bestStart = -1
    var bestLength = 1  // a single zero group is never compressed
    var runStart = -1
    for index in 0...8 {
      if index < 8, groups[index] == 0 {
        if runStart < 0 { runStart = index }
      } else if runStart >= 0 {
        if index - runStart > bestLength {
          bestStart = runStart
          bestLength = index - runStart
        }
        runStart = -1
      }
    }
    func hex(_ range: Range<Int>) -> String {
      groups[range].map { String($0, radix: 16) }.joined(separator: ":")
    }
    guard bestStart >= 0 else { return hex(0..<8) }
    return hex(0..<bestStart) + "::" + hex((bestStart + bestLength)..<8)
  }

  public static func < (lhs: IPv6Address, rhs: IPv6Address) -> Bool {
    lhs.value < rhs.value
  }

  public init(from decoder: any Decoder) throws {
    self = try decodeFromString(decoder, kind: "IPv6 address")
  }

  public func encode(to encoder: any Encoder) throws {
    var container = encoder.singleValueContainer()
    try container.encode(description)
  }

  static func parseValue(_ bytes: ArraySlice<UInt8>) -> UInt128? {
    let colon = UInt8(ascii: ":")
    var groups: [UInt16] = []
    groups.reserveCapacity(8)
    var ellipsis: Int? = nil  // number of groups written before the `::`
    var index = bytes.startIndex
    let end = bytes.endIndex

    if end - index >= 2, bytes[index] == colon, bytes[index + 1] == colon {
      ellipsis = 0
      index += 2
    }
    while index < end {
      let start = index
      var group: UInt32 = 0
      while index < end, let digit = hexDigit(bytes[index]) {
        group = group << 4 | UInt32(digit)
        index += 1
        if index - start > 4 { break }
      }
      if index < end, bytes[index] == UInt8(ascii: ".") {
        // The dotted tail must end the text and fill exactly the last two groups (or fewer with `::`).
        guard groups.count <= 6, ellipsis != nil || groups.count == 6,
          let v4 = IPv4Address.parseValue(bytes[start...])
        else { return nil }
        groups.append(UInt16(v4 >> 16))
        groups.append(UInt16(truncatingIfNeeded: v4))
        index = end
        break
      }
      guard index > start, index - start <= 4, groups.count < 8 else { return nil }
      groups.append(UInt16(group))
      if index == end { break }
      guard bytes[index] == colon, index + 1 < end else { return nil }
      index += 1
      if bytes[index] == colon {
        guard ellipsis == nil else { return nil }
        ellipsis = groups.count
        index += 1
      }
    }
    if let ellipsis {
      // `::` stands for at least one zero group.
      guard groups.count < 8 else { return nil }
      groups.insert(contentsOf: repeatElement(0, count: 8 - groups.count), at: ellipsis)
    }
    guard groups.count == 8 else { return nil }
    return groups.reduce(0) { $0 << 16 | UInt128($1) }
  }
}
