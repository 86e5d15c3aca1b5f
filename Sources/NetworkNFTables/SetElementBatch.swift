import NetworkAddress
import NetworkNetlink

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#endif

/// One element of an nftables set or map: its key and, for a map, its data, each the concatenation of fields as
/// the kernel keeps them in registers (every field padded to 4 bytes; addresses and ports in network order).
public struct SetElement: Sendable, Hashable {
  public var key: [UInt8]
  public var data: [UInt8]?

  public init(key: [SetElement.Field], data: [SetElement.Field]? = nil) {
    self.key = key.flatMap(\.register)
    self.data = data.map { $0.flatMap(\.register) }
  }

  /// A field of a concatenation (`ipv4_addr . inet_proto . inet_service`).
  public enum Field: Sendable, Hashable {
    case address(IPAddress)
    /// `inet_proto`: an IP protocol number (6 tcp, 17 udp, 132 sctp).
    case `protocol`(UInt8)
    /// `inet_service`: a port.
    case port(UInt16)

    /// The field's bytes in its register slot, padded to 4 bytes.
    var register: [UInt8] {
      switch self {
      case .address(let address): address.networkOrderBytes
      case .protocol(let number): [number, 0, 0, 0]
      case .port(let port): [UInt8(port >> 8), UInt8(port & 0xff), 0, 0]
      }
    }
  }
}

/// One nfnetlink transaction adding or removing elements of one set: `NFNL_MSG_BATCH_BEGIN`, the element message,
/// `NFNL_MSG_BATCH_END`, in one datagram. The kernel applies a batch whole or not at all, and acknowledges the
/// element message with its errno (`EEXIST` for an element that is there, with ``Operation/add``).
public struct SetElementBatch: Sendable {
  public enum Operation: Sendable {
    /// `NFT_MSG_NEWSETELEM` with `NLM_F_EXCL`: an element that exists fails the batch with `EEXIST`.
    case add
    /// `NFT_MSG_DESTROYSETELEM` (Linux 6.3): an element that is not there is no error.
    case destroy
    /// `NFT_MSG_DELSETELEM`: an element that is not there fails the batch with `ENOENT`.
    case delete
  }

  public var operation: Operation
  /// The table's family: `NFPROTO_INET` (1), `NFPROTO_IPV4` (2), `NFPROTO_IPV6` (10).
  public var family: UInt8
  public var table: String
  public var set: String
  public var elements: [SetElement]

  public init(_ operation: Operation, family: UInt8 = 1, table: String, set: String, elements: [SetElement]) {
    self.operation = operation
    self.family = family
    self.table = table
    self.set = set
    self.elements = elements
  }

  static let subsystem: UInt16 = 10  // NFNL_SUBSYS_NFTABLES

  /// `struct nfgenmsg`: family, version 0, resource ID (big-endian).
  static func nfgenmsg(family: UInt8, resource: UInt16 = 0) -> [UInt8] {
    [family, 0, UInt8(resource >> 8), UInt8(resource & 0xff)]
  }

  /// The three messages, the element message's sequence number being `sequence + 1`.
  public func encoded(sequence: UInt32) -> [UInt8] {
    Self.transaction([self], sequence: sequence)
  }

  /// Several batches as one transaction: `BATCH_BEGIN`, their element messages numbered from `sequence + 1`, then
  /// `BATCH_END`.
  static func transaction(_ batches: [SetElementBatch], sequence: UInt32) -> [UInt8] {
    let begin = NetlinkMessage(
      type: 0x10, flags: 0, header: Self.nfgenmsg(family: 0, resource: Self.subsystem))  // NFNL_MSG_BATCH_BEGIN
    let end = NetlinkMessage(
      type: 0x11, flags: 0, header: Self.nfgenmsg(family: 0, resource: Self.subsystem))  // NFNL_MSG_BATCH_END
    var bytes = begin.encoded(sequence: sequence)
    for (offset, batch) in batches.enumerated() {
      bytes += batch.elementMessage.encoded(sequence: sequence &+ UInt32(offset) &+ 1)
    }
    return bytes + end.encoded(sequence: sequence &+ UInt32(batches.count) &+ 1)
  }

  /// The element message: table, set, then the list of elements with their keys and data.
  var elementMessage: NetlinkMessage {
    let (command, flags): (UInt16, UInt16) =
      switch operation {
      case .add: (12, Netlink.Flag.ack | Netlink.Flag.create | Netlink.Flag.excl)  // NFT_MSG_NEWSETELEM
      case .destroy: (30, Netlink.Flag.ack)  // NFT_MSG_DESTROYSETELEM
      case .delete: (14, Netlink.Flag.ack)  // NFT_MSG_DELSETELEM
      }
    var message = NetlinkMessage(
      type: Self.subsystem << 8 | command, flags: flags, header: Self.nfgenmsg(family: family))
    message.append(1, string: table)  // NFTA_SET_ELEM_LIST_TABLE
    message.append(2, string: set)  // NFTA_SET_ELEM_LIST_SET
    message.beginNest(3)  // NFTA_SET_ELEM_LIST_ELEMENTS
    for element in elements {
      message.beginNest(1)  // NFTA_LIST_ELEM
      message.beginNest(1)  // NFTA_SET_ELEM_KEY
      message.append(1, element.key)  // NFTA_DATA_VALUE
      message.endNest()
      if let data = element.data {
        message.beginNest(2)  // NFTA_SET_ELEM_DATA
        message.append(1, data)  // NFTA_DATA_VALUE
        message.endNest()
      }
      message.endNest()
    }
    message.endNest()
    return message
  }
}
