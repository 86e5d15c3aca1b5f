/// A message the kernel sent back.
public struct NetlinkReply: Sendable, Hashable {
  public var type: UInt16
  public var flags: UInt16
  public var sequence: UInt32
  /// What follows the 16-byte header.
  public var payload: ArraySlice<UInt8>

  /// Every message in one datagram; a message whose length does not fit ends the list (the kernel never sends one).
  public static func split(_ datagram: ArraySlice<UInt8>) -> [NetlinkReply] {
    var replies: [NetlinkReply] = []
    var offset = datagram.startIndex
    while datagram.endIndex - offset >= 16 {
      let header = datagram[offset..<offset + 16]
      let length = Int(Netlink.readLE32(header, at: 0))
      guard length >= 16, offset + length <= datagram.endIndex else { break }
      replies.append(
        NetlinkReply(
          type: Netlink.readLE16(header, at: 4), flags: Netlink.readLE16(header, at: 6),
          sequence: Netlink.readLE32(header, at: 8), payload: datagram[offset + 16..<offset + length]))
      offset += (length + 3) & ~3
    }
    return replies
  }

  /// For an NLMSG_ERROR: 0 for an acknowledgement, else the errno (positive) and the extended-ack message if the
  /// kernel sent one (`NETLINK_EXT_ACK`).
  public var acknowledgement: (errno: Int32, message: String?)? {
    guard type == Netlink.MessageType.error, payload.count >= 4 else { return nil }
    let code = -Int32(bitPattern: Netlink.readLE32(payload, at: 0))
    // NLM_F_ACK_TLVS: attributes follow the echoed header (only the header, with NETLINK_CAP_ACK).
    guard flags & 0x200 != 0, payload.count >= 20 else { return (code, nil) }
    let echoedLength = flags & 0x100 != 0 ? 16 : Int(Netlink.readLE32(payload, at: 4))
    var offset = payload.startIndex + 4 + max(16, min(echoedLength, payload.count - 4))
    while payload.endIndex - offset >= 4 {
      let length = Int(Netlink.readLE16(payload, at: offset - payload.startIndex))
      let kind = Netlink.readLE16(payload, at: offset - payload.startIndex + 2) & 0x3fff
      guard length >= 4, offset + length <= payload.endIndex else { break }
      // NLMSGERR_ATTR_MSG: the kernel's reason, NUL-terminated.
      if kind == 1 {
        let text = payload[offset + 4..<offset + length].prefix { $0 != 0 }
        return (code, String(decoding: text, as: UTF8.self))
      }
      offset += (length + 3) & ~3
    }
    return (code, nil)
  }

  /// The attributes after a fixed family header of `headerLength` bytes, by type (nested flag cleared).
  public func attributes(afterHeader headerLength: Int) -> [UInt16: ArraySlice<UInt8>] {
    Self.attributes(in: payload.dropFirst((headerLength + 3) & ~3))
  }

  /// The attributes in `bytes` (a message's tail, or a nested attribute's payload), by type (nested flag cleared).
  public static func attributes(in bytes: ArraySlice<UInt8>) -> [UInt16: ArraySlice<UInt8>] {
    var found: [UInt16: ArraySlice<UInt8>] = [:]
    var offset = bytes.startIndex
    while bytes.endIndex - offset >= 4 {
      let length = Int(Netlink.readLE16(bytes, at: offset - bytes.startIndex))
      let kind = Netlink.readLE16(bytes, at: offset - bytes.startIndex + 2) & 0x3fff
      guard length >= 4, offset + length <= bytes.endIndex else { break }
      found[kind] = bytes[offset + 4..<offset + length]
      offset += (length + 3) & ~3
    }
    return found
  }

}
