import NetworkNetlink

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#endif

/// Sends element batches and queries over one `NETLINK_NETFILTER` socket. Kept open between batches where it can be:
/// closing one right after a deletion waits for the kernel's grace period (about 10 ms, measured in the research
/// notes).
public final class NFTablesNetlink {
  let socket: any NetlinkSocket
  private var sequence: UInt32 = 0

  public init(socket: any NetlinkSocket) {
    self.socket = socket
  }

  /// A `NETLINK_NETFILTER` socket of the namespace at `namespacePath` (the caller's own when nil).
  public convenience init(namespacePath: String? = nil) throws(NetlinkError) {
    if let namespacePath {
      self.init(socket: try LinuxNetlinkSocket(namespacePath: namespacePath, protocol: 12))
    } else {
      self.init(socket: try LinuxNetlinkSocket(protocol: 12))
    }
  }

  /// Runs one batch: every element applied, or none and the kernel's error.
  public func apply(_ batch: SetElementBatch) throws(NetlinkError) {
    try apply([batch])
  }

  /// Runs several batches (of several sets) as one transaction: every element of every batch applied, or none and
  /// the first error the kernel reported.
  public func apply(_ batches: [SetElementBatch]) throws(NetlinkError) {
    let batches = batches.filter { !$0.elements.isEmpty }
    guard !batches.isEmpty else { return }
    let first = sequence &+ 1
    sequence = first &+ UInt32(batches.count) &+ 1
    try socket.send(SetElementBatch.transaction(batches, sequence: first))
    // Each element message is acknowledged (an abort acknowledges the failed one with its errno, and those before it
    // with 0): wait for the last, remembering the first failure.
    var pending = Set((1...batches.count).map { first &+ UInt32($0) })
    var failure: (errno: Int32, text: String?, batch: SetElementBatch)?
    while !pending.isEmpty {
      for reply in NetlinkReply.split(try socket.receive()) where pending.contains(reply.sequence) {
        guard let (code, text) = reply.acknowledgement else { continue }
        pending.remove(reply.sequence)
        if code != 0 && failure == nil {
          failure = (code, text, batches[Int(reply.sequence &- first) - 1])
        }
      }
      // After an abort the kernel acknowledges only up to the failed message.
      if failure != nil { break }
    }
    if let failure {
      throw NetlinkError(
        operation:
          "nftables \(failure.batch.operation) of \(failure.batch.elements.count) elements in \(failure.batch.table) \(failure.batch.set)",
        errno: failure.errno, kernelMessage: failure.text)
    }
  }

  /// Removes the elements of `batches` (whatever their operation), those that are absent being no error, as one
  /// `NFT_MSG_DESTROYSETELEM` transaction. Linux before 6.3 (Debian 12's stock 6.1) has no such message: there each
  /// element is deleted on its own, and one that is absent (`ENOENT`) is skipped.
  public func removeElements(_ batches: [SetElementBatch]) throws(NetlinkError) {
    let destroys = batches.map {
      SetElementBatch(.destroy, family: $0.family, table: $0.table, set: $0.set, elements: $0.elements)
    }
    do {
      try apply(destroys)
    } catch  where error.errno == EINVAL || error.errno == EOPNOTSUPP {
      for batch in batches {
        for element in batch.elements {
          do {
            try apply(
              SetElementBatch(.delete, family: batch.family, table: batch.table, set: batch.set, elements: [element]))
          } catch  where error.errno == ENOENT {
            // Already gone.
          }
        }
      }
    }
  }

  /// Whether `chain` exists in `table` (`NFT_MSG_GETCHAIN`): a missing table or chain is `false`, not an error.
  public func chainExists(family: UInt8 = 1, table: String, chain: String) throws(NetlinkError) -> Bool {
    var message = NetlinkMessage(
      type: SetElementBatch.subsystem << 8 | 4, flags: Netlink.Flag.ack,
      header: SetElementBatch.nfgenmsg(family: family))
    message.append(1, string: table)  // NFTA_CHAIN_TABLE
    message.append(3, string: chain)  // NFTA_CHAIN_NAME
    return try query(message, operation: "looking up chain \(chain) of table \(table)").map { !$0.isEmpty } ?? false
  }

  /// The data of the element of `set` whose key is `key` (`NFT_MSG_GETSETELEM`); nil when the table, the set or the
  /// element is not there.
  public func elementData(family: UInt8 = 1, table: String, set: String, key: [UInt8]) throws(NetlinkError)
    -> [UInt8]?
  {
    var message = NetlinkMessage(
      type: SetElementBatch.subsystem << 8 | 13, flags: Netlink.Flag.ack,
      header: SetElementBatch.nfgenmsg(family: family))
    message.append(1, string: table)  // NFTA_SET_ELEM_LIST_TABLE
    message.append(2, string: set)  // NFTA_SET_ELEM_LIST_SET
    message.beginNest(3)  // NFTA_SET_ELEM_LIST_ELEMENTS
    message.beginNest(1)  // NFTA_LIST_ELEM
    message.beginNest(1)  // NFTA_SET_ELEM_KEY
    message.append(1, key)  // NFTA_DATA_VALUE
    message.endNest()
    message.endNest()
    message.endNest()
    // NEWSETELEM: the list, its element, the element's data value.
    for reply in try query(message, operation: "looking up an element of \(table) \(set)") ?? [] {
      let list = reply.attributes(afterHeader: 4)
      guard let elements = list[3], let element = NetlinkReply.attributes(in: elements)[1],
        let value = NetlinkReply.attributes(in: element)[2], let bytes = NetlinkReply.attributes(in: value)[1]
      else { continue }
      return Array(bytes)
    }
    return nil
  }

  /// Sends a GET and returns its answers, or nil when what it asks for is not there (`ENOENT`).
  private func query(_ message: NetlinkMessage, operation: String) throws(NetlinkError) -> [NetlinkReply]? {
    sequence &+= 1
    do {
      return try socket.exchange(message, sequence: sequence, operation: operation)
    } catch  where error.errno == ENOENT {
      return nil
    }
  }
}
