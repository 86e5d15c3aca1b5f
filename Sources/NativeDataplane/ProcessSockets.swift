import NetworkAddress
import SystemSupport

#if canImport(Glibc)
  import Glibc
#endif

/// What another process's sockets are, read from /proc: which socket inodes it holds and where its UDP sockets are
/// bound. `/proc/<pid>/net` shows the network namespace of that process, whichever namespace the reader is in.
enum ProcessSockets {
  /// The inodes of the sockets `pid` holds open (`socket:[N]` links in /proc/<pid>/fd); empty when it is gone.
  static func inodes(of pid: pid_t) -> Set<UInt64> {
    var found: Set<UInt64> = []
    let directory = "/proc/\(pid)/fd"
    var buffer = [CChar](repeating: 0, count: 64)
    for name in DirectoryEntries.names(at: directory) ?? [] {
      let count = readlink("\(directory)/\(name)", &buffer, buffer.count - 1)
      guard count > 0 else { continue }
      let target = String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
      guard target.hasPrefix("socket:["), target.hasSuffix("]"),
        let inode = UInt64(target.dropFirst(8).dropLast())
      else { continue }
      found.insert(inode)
    }
    return found
  }

  /// The local addresses and ports of the UDP sockets in `pid`'s namespace whose inode is among `inodes`.
  static func boundUDP(of pid: pid_t, inodes: Set<UInt64>) -> Set<Endpoint> {
    var found: Set<Endpoint> = []
    for table in ["udp", "udp6"] {
      guard let bytes = ProcFile.read("/proc/\(pid)/net/\(table)", limit: 64 << 20) else { continue }
      for line in String(decoding: bytes, as: UTF8.self).split(separator: "\n").dropFirst() {
        let fields = line.split(separator: " ")
        // sl local_address rem_address st tx:rx tr:tm retrnsmt uid timeout inode …
        guard fields.count > 9, let inode = UInt64(fields[9]), inodes.contains(inode),
          let endpoint = Endpoint(procText: fields[1])
        else { continue }
        found.insert(endpoint)
      }
    }
    return found
  }

  /// An address and port as /proc/net/udp{,6} print them: `0100A8C0:0035`, the address as 32-bit words in the host's
  /// byte order.
  struct Endpoint: Hashable, Sendable {
    var address: IPAddress
    var port: UInt16

    init(address: IPAddress, port: UInt16) {
      self.address = address
      self.port = port
    }

    init?(procText: Substring) {
      let parts = procText.split(separator: ":")
      guard parts.count == 2, let port = UInt16(parts[1], radix: 16), parts[0].count == 8 || parts[0].count == 32
      else { return nil }
      var bytes: [UInt8] = []
      var rest = parts[0]
      while !rest.isEmpty {
        guard let word = UInt32(rest.prefix(8), radix: 16) else { return nil }
        withUnsafeBytes(of: word) { bytes.append(contentsOf: $0) }
        rest = rest.dropFirst(8)
      }
      if bytes.count == 4 {
        address = .v4(IPv4Address(bytes[0], bytes[1], bytes[2], bytes[3]))
      } else {
        address = .v6(
          IPv6Address(groups: stride(from: 0, to: 16, by: 2).map { UInt16(bytes[$0]) << 8 | UInt16(bytes[$0 + 1]) }))
      }
      self.port = port
    }
  }
}
