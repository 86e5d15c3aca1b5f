import NetworkNetlink

#if canImport(Glibc)
  import Glibc
#endif

/// Answers each message of a datagram that asks for an acknowledgement with the next errno of ``errnos`` (the batch
/// begin and end ask for none), as the kernel answers an rtnetlink batch or an nfnetlink transaction: a fake for
/// tests of request code without root.
public final class AnsweringNetlinkSocket: NetlinkSocket {
  public var sent: [[UInt8]] = []
  public var errnos: [Int32]
  /// Replies that come before the acknowledgement (a GET's answer), as raw messages.
  public var answers: [[UInt8]] = []
  public init(errnos: [Int32] = []) { self.errnos = errnos }

  public func send(_ bytes: [UInt8]) throws(NetlinkError) { sent.append(bytes) }

  public func receive() throws(NetlinkError) -> ArraySlice<UInt8> {
    var datagram: [UInt8] = []
    for request in NetlinkReply.split(sent.last![...]) where request.flags & Netlink.Flag.ack != 0 {
      for answer in answers {
        var message = answer
        message.replaceSubrange(8..<12, with: withUnsafeBytes(of: request.sequence.littleEndian, Array.init))
        datagram += message
      }
      let code = errnos.isEmpty ? 0 : errnos.removeFirst()
      var body = Array(withUnsafeBytes(of: (-code).littleEndian, Array.init)) + [UInt8](repeating: 0, count: 16)
      body =
        Array(withUnsafeBytes(of: UInt32(16 + body.count).littleEndian, Array.init)) + [2, 0, 0, 1]
        + Array(withUnsafeBytes(of: request.sequence.littleEndian, Array.init)) + [0, 0, 0, 0] + body
      datagram += body
    }
    return datagram[...]
  }
}
