#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#endif

/// Where netlink messages go: the kernel through ``LinuxNetlinkSocket``, or a recording fake in tests (the seam
/// that lets every request be checked byte for byte without root, as apple/containerization's `NetlinkSocket`).
public protocol NetlinkSocket: AnyObject {
  /// Sends one datagram (one or more messages).
  func send(_ bytes: [UInt8]) throws(NetlinkError)
  /// Receives one datagram.
  func receive() throws(NetlinkError) -> ArraySlice<UInt8>
}

extension NetlinkSocket {
  /// Sends `message` numbered `sequence` and waits for its acknowledgement (or the end of a dump); returns the
  /// replies that came before it (a GET's answer). Replies to earlier, abandoned requests are skipped, never mistaken:
  /// every netlink family answers this way.
  public func exchange(_ message: NetlinkMessage, sequence: UInt32, operation: String) throws(NetlinkError)
    -> [NetlinkReply]
  {
    try send(message.encoded(sequence: sequence))
    var answers: [NetlinkReply] = []
    while true {
      for reply in NetlinkReply.split(try receive()) where reply.sequence == sequence {
        if let (code, text) = reply.acknowledgement {
          guard code == 0 else { throw NetlinkError(operation: operation, errno: code, kernelMessage: text) }
          return answers
        }
        if reply.type == Netlink.MessageType.done { return answers }
        answers.append(reply)
      }
    }
  }
}

/// A failed netlink call: the errno (kept for the engine) and the kernel's own reason when it gave one.
public struct NetlinkError: Error, Sendable, Hashable, CustomStringConvertible {
  public var operation: String
  public var errno: Int32
  /// The kernel's extended acknowledgement text (`NETLINK_EXT_ACK`), e.g. "Attribute failed policy validation".
  public var kernelMessage: String?

  public init(operation: String, errno: Int32, kernelMessage: String? = nil) {
    self.operation = operation
    self.errno = errno
    self.kernelMessage = kernelMessage
  }

  public var description: String {
    let reason = String(cString: strerror(errno))
    return kernelMessage.map { "\(operation): \(reason) (\($0))" } ?? "\(operation): \(reason)"
  }
}

/// An `AF_NETLINK` socket of the calling thread's network namespace (opened on a thread inside another namespace,
/// it stays bound to that one).
///
/// Bound with `nl_pid = 0`, so the kernel picks the port: binding the process ID, as some libraries do, makes a
/// second socket in the same process fail with `EADDRINUSE`. Extended acknowledgements are on (errors come with the
/// kernel's reason), echoed requests are capped to their header, and one 32 KiB receive buffer is reused.
public final class LinuxNetlinkSocket: NetlinkSocket {
  private let fd: Int32
  /// Left uninitialised: the kernel writes what is read, so a short reply touches one page of it, not eight.
  private var buffer = [UInt8](unsafeUninitializedCapacity: 32 * 1024) { _, count in count = 32 * 1024 }

  /// Opens a socket of `protocol` (`NETLINK_ROUTE` = 0 by default) in the calling thread's namespace.
  public convenience init(protocol family: Int32 = 0) throws(NetlinkError) {
    self.init(descriptor: try Self.openDescriptor(protocol: family))
  }

  /// Takes over a socket made by ``openDescriptor(protocol:)``.
  init(descriptor: Int32) {
    fd = descriptor
  }

  /// A bound, configured netlink socket's descriptor.
  static func openDescriptor(protocol family: Int32) throws(NetlinkError) -> Int32 {
    let fd = socket(AF_NETLINK, Int32(SOCK_RAW.rawValue) | Int32(SOCK_CLOEXEC.rawValue), family)
    guard fd >= 0 else { throw NetlinkError(operation: "socket(AF_NETLINK)", errno: errno) }
    var on: Int32 = 1
    // NETLINK_EXT_ACK (11) and NETLINK_CAP_ACK (10); old kernels lack them, which only costs the error texts.
    _ = setsockopt(fd, 270, 11, &on, socklen_t(MemoryLayout<Int32>.size))
    _ = setsockopt(fd, 270, 10, &on, socklen_t(MemoryLayout<Int32>.size))
    // struct sockaddr_nl (Glibc's Swift module lacks it): family, padding, nl_pid = 0, nl_groups = 0.
    let address: [UInt8] = [UInt8(AF_NETLINK), 0, 0, 0] + [UInt8](repeating: 0, count: 8)
    let bound = address.withUnsafeBytes {
      bind(fd, $0.baseAddress!.assumingMemoryBound(to: sockaddr.self), socklen_t(address.count))
    }
    guard bound == 0 else {
      let code = errno
      close(fd)
      throw NetlinkError(operation: "bind(AF_NETLINK)", errno: code)
    }
    return fd
  }

  deinit { close(fd) }

  public func send(_ bytes: [UInt8]) throws(NetlinkError) {
    while true {
      let sent = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, 0) }
      if sent == bytes.count { return }
      if sent < 0 && errno == EINTR { continue }
      throw NetlinkError(operation: "send(netlink)", errno: sent < 0 ? errno : EMSGSIZE)
    }
  }

  public func receive() throws(NetlinkError) -> ArraySlice<UInt8> {
    while true {
      let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
      // A copy of what arrived: a slice of the buffer itself would make the next receive copy all 32 KiB.
      if count >= 0 { return Array(buffer[0..<count])[...] }
      if errno == EINTR { continue }
      throw NetlinkError(operation: "recv(netlink)", errno: errno)
    }
  }
}
