/// One netlink request being built: a 16-byte header, a fixed family header, then attributes, nested ones included,
/// each padded to 4 bytes as the kernel expects. Values are little-endian, as on every Linux this runs on, except
/// where a protocol says network order (the caller passes those bytes already ordered).
public struct NetlinkMessage: Sendable, Hashable {
  public private(set) var bytes: [UInt8]
  private var openNests: [Int] = []

  /// A message of `type` with `flags` (NLM_F_REQUEST is added) and `header`, the family's fixed struct
  /// (`ifinfomsg`, `ifaddrmsg`, `rtmsg`, …) as bytes. The length and sequence number are filled in when it is sent.
  public init(type: UInt16, flags: UInt16, header: [UInt8]) {
    bytes = [UInt8](repeating: 0, count: 16)
    bytes.replaceSubrange(4..<6, with: Netlink.le16(type))
    bytes.replaceSubrange(6..<8, with: Netlink.le16(flags | Netlink.Flag.request))
    bytes += header
    Netlink.pad(&bytes)
  }

  /// Appends an attribute with a raw payload.
  public mutating func append(_ type: UInt16, _ payload: [UInt8]) {
    bytes += Netlink.le16(UInt16(4 + payload.count)) + Netlink.le16(type) + payload
    Netlink.pad(&bytes)
  }

  public mutating func append(_ type: UInt16, string: String) { append(type, Array(string.utf8) + [0]) }
  public mutating func append(_ type: UInt16, uint32 value: UInt32) { append(type, Netlink.le32(value)) }
  public mutating func append(_ type: UInt16, uint8 value: UInt8) { append(type, [value]) }

  /// Opens a nested attribute; everything appended until ``endNest()`` goes inside it.
  public mutating func beginNest(_ type: UInt16) {
    openNests.append(bytes.count)
    bytes += [0, 0] + Netlink.le16(type | Netlink.nestedFlag)
  }

  /// Closes the innermost open nest, writing its length.
  public mutating func endNest() {
    let start = openNests.removeLast()
    bytes.replaceSubrange(start..<start + 2, with: Netlink.le16(UInt16(bytes.count - start)))
  }

  /// The bytes to send: the length and `sequence` written into the header.
  public func encoded(sequence: UInt32) -> [UInt8] {
    precondition(openNests.isEmpty, "a nested attribute was left open")
    var copy = bytes
    copy.replaceSubrange(0..<4, with: Netlink.le32(UInt32(copy.count)))
    copy.replaceSubrange(8..<12, with: Netlink.le32(sequence))
    return copy
  }
}

/// Constants and byte helpers of the netlink protocols used here (linux/netlink.h, rtnetlink.h, if_link.h).
public enum Netlink {
  public enum Flag {
    public static let request: UInt16 = 0x1
    public static let ack: UInt16 = 0x4
    public static let replace: UInt16 = 0x100
    public static let excl: UInt16 = 0x200
    public static let create: UInt16 = 0x400
    /// `NLM_F_DUMP` (`NLM_F_ROOT | NLM_F_MATCH`).
    public static let dump: UInt16 = 0x300
  }

  public enum MessageType {
    public static let error: UInt16 = 2
    public static let done: UInt16 = 3
    public static let newLink: UInt16 = 16
    public static let deleteLink: UInt16 = 17
    public static let getLink: UInt16 = 18
    public static let newAddress: UInt16 = 20
    public static let newRoute: UInt16 = 24
    public static let deleteRoute: UInt16 = 25
    public static let getRoute: UInt16 = 26
  }
  /// `IFLA_*` link attributes used here.
  public enum Link {
    public static let address: UInt16 = 1
    public static let name: UInt16 = 3
    public static let mtu: UInt16 = 4
    public static let parent: UInt16 = 5  // IFLA_LINK
    public static let master: UInt16 = 10
    public static let info: UInt16 = 18
    public static let alias: UInt16 = 20
    public static let afSpec: UInt16 = 26
    public static let namespaceFD: UInt16 = 28
  }

  /// `NLA_F_NESTED`: the kernel's strict parser wants it on nested attributes.
  static let nestedFlag: UInt16 = 0x8000

  static func le16(_ value: UInt16) -> [UInt8] { [UInt8(value & 0xff), UInt8(value >> 8)] }
  static func le32(_ value: UInt32) -> [UInt8] { (0..<4).map { UInt8((value >> (8 * $0)) & 0xff) } }
  static func pad(_ bytes: inout [UInt8]) { while bytes.count % 4 != 0 { bytes.append(0) } }

  static func readLE16(_ bytes: ArraySlice<UInt8>, at offset: Int) -> UInt16 {
    UInt16(bytes[bytes.startIndex + offset]) | UInt16(bytes[bytes.startIndex + offset + 1]) << 8
  }

  static func readLE32(_ bytes: ArraySlice<UInt8>, at offset: Int) -> UInt32 {
    (0..<4).reduce(0) { $0 | UInt32(bytes[bytes.startIndex + offset + $1]) << (8 * $1) }
  }

  /// `ifinfomsg`: family, type, index, flags and the mask of flags to change.
  public static func ifinfomsg(family: UInt8 = 0, index: Int32 = 0, flags: UInt32 = 0, change: UInt32 = 0) -> [UInt8] {
    [family, 0, 0, 0] + le32(UInt32(bitPattern: index)) + le32(flags) + le32(change)
  }

  /// `ifaddrmsg`: family, prefix length, flags, scope, index.
  public static func ifaddrmsg(family: UInt8, prefixLength: UInt8, index: Int32) -> [UInt8] {
    [family, prefixLength, 0, 0] + le32(UInt32(bitPattern: index))
  }
}
