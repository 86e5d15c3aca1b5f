import ContainerNetworkCore
import NetworkAddress

/// What the last scan of a config directory found, kept in one file so that a new process reads one file instead of
/// every `.conflist`.
///
/// Each entry is a file name, the file's stamp when it was read, and either the network it held or the reason it was
/// skipped. An entry is trusted only while the file's stamp (modification and change time, size, inode) is the
/// same, so the index never hides an edit; anything unreadable in it makes the whole index count as absent. It holds
/// no config lists: setup reads the one file it needs.
///
/// The format is ours and private (a version tag, then length-prefixed fields); it is rebuilt whenever it does not
/// decode.
enum NetworkIndex {
  typealias Entry = (name: String, stamp: ConfigDirectory.FileStamp, result: ConfigDirectory.FileResult)

  /// Bumped whenever the layout or the meaning of a field changes.
  static let tag = Array("cnet-network-index-2\n".utf8)
  /// An index larger than this is not one of ours.
  static let maximumSize = 256 << 20

  /// The index of `directory`'s `entries`. The directory is recorded so that an index is never taken for another
  /// directory's (the file name holds only a short hash of it).
  static func encode(_ entries: [Entry], directory: String) -> [UInt8] {
    var writer = Writer()
    writer.bytes.reserveCapacity(entries.count * 512)
    writer.bytes.append(contentsOf: tag)
    writer.string(directory)
    writer.integer(entries.count)
    for entry in entries {
      writer.string(entry.name)
      writer.stamp(entry.stamp)
      switch entry.result {
      case .network(let stored):
        writer.byte(0)
        writer.network(stored.network)
      case .skipped(let reason):
        writer.byte(1)
        writer.string(reason)
      }
    }
    return writer.bytes
  }

  /// The entries, or nil when `bytes` is not an index this version wrote for `directory`. Networks get
  /// `directory`/name as path.
  static func decode(_ bytes: [UInt8], directory: String) -> [Entry]? {
    var reader = Reader(bytes: bytes)
    do {
      guard try reader.take(tag.count).elementsEqual(tag), try reader.string() == directory else { return nil }
      let count = try reader.count()
      var entries: [Entry] = []
      entries.reserveCapacity(min(count, bytes.count / 64))
      for _ in 0..<count {
        let name = try reader.string()
        let stamp = try reader.stamp()
        switch try reader.byte() {
        case 0:
          let network = try reader.network()
          let stored = StoredNetwork(network: network, path: "\(directory)/\(name)", configList: nil)
          entries.append((name, stamp, .network(stored)))
        case 1:
          entries.append((name, stamp, .skipped(try reader.string())))
        default:
          return nil
        }
      }
      return reader.isAtEnd ? entries : nil
    } catch {
      return nil
    }
  }

  private struct Writer {
    var bytes: [UInt8] = []

    mutating func byte(_ value: UInt8) { bytes.append(value) }

    mutating func integer(_ value: Int) {
      withUnsafeBytes(of: Int64(value).littleEndian) { bytes.append(contentsOf: $0) }
    }

    mutating func string(_ value: String) {
      integer(value.utf8.count)
      bytes.append(contentsOf: value.utf8)
    }

    mutating func optionalString(_ value: String?) {
      byte(value == nil ? 0 : 1)
      if let value { string(value) }
    }

    mutating func strings(_ values: [String]) {
      integer(values.count)
      for value in values { string(value) }
    }

    mutating func dictionary(_ values: [String: String]) {
      integer(values.count)
      for (key, value) in values.sorted(by: { $0.key < $1.key }) {
        string(key)
        string(value)
      }
    }

    mutating func stamp(_ stamp: ConfigDirectory.FileStamp) {
      for field in [
        stamp.seconds, stamp.nanoseconds, stamp.changeSeconds, stamp.changeNanoseconds, Int(stamp.size),
        Int(truncatingIfNeeded: stamp.inode),
      ] {
        integer(field)
      }
    }

    mutating func network(_ network: Network) {
      string(network.name)
      string(network.id)
      string(network.driver)
      string(network.networkInterface)
      byte(network.created == nil ? 0 : 1)
      if let created = network.created {
        integer(Int(created.seconds))
        integer(Int(created.nanoseconds))
      }
      integer(network.subnets.count)
      for subnet in network.subnets {
        string(subnet.subnet.description)
        optionalString(subnet.gateway?.description)
        byte(subnet.leaseRange == nil ? 0 : 1)
        if let range = subnet.leaseRange {
          optionalString(range.startIP?.description)
          optionalString(range.endIP?.description)
        }
      }
      integer(network.routes.count)
      for route in network.routes {
        string(route.destination.description)
        string(route.gateway.description)
        optionalString(route.metric.map { String($0) })
      }
      byte((network.ipv6Enabled ? 1 : 0) | (network.internal ? 2 : 0) | (network.dnsEnabled ? 4 : 0))
      strings(network.networkDNSServers)
      dictionary(network.labels)
      dictionary(network.options)
      dictionary(network.ipamOptions)
    }
  }

  private struct Malformed: Error {}

  private struct Reader {
    let bytes: [UInt8]
    var offset = 0

    var isAtEnd: Bool { offset == bytes.count }

    mutating func take(_ count: Int) throws(Malformed) -> ArraySlice<UInt8> {
      guard count >= 0, count <= bytes.count - offset else { throw Malformed() }
      defer { offset += count }
      return bytes[offset..<offset + count]
    }

    mutating func byte() throws(Malformed) -> UInt8 { try take(1).first! }

    mutating func integer() throws(Malformed) -> Int {
      let slice = try take(8)
      var value: UInt64 = 0
      for (shift, byte) in zip(stride(from: 0, to: 64, by: 8), slice) { value |= UInt64(byte) << UInt64(shift) }
      return Int(Int64(bitPattern: value))
    }

    mutating func count() throws(Malformed) -> Int {
      let value = try integer()
      // Every counted element takes at least one byte, so a count beyond the rest is corrupt, not a huge array.
      guard value >= 0, value <= bytes.count - offset else { throw Malformed() }
      return value
    }

    mutating func string() throws(Malformed) -> String {
      let slice = try take(try count())
      return String(decoding: slice, as: UTF8.self)
    }

    mutating func optionalString() throws(Malformed) -> String? {
      try byte() == 0 ? nil : try string()
    }

    mutating func strings() throws(Malformed) -> [String] {
      var values: [String] = []
      for _ in 0..<(try count()) { values.append(try string()) }
      return values
    }

    mutating func dictionary() throws(Malformed) -> [String: String] {
      let count = try count()
      var values: [String: String] = Dictionary(minimumCapacity: count)
      for _ in 0..<count {
        let key = try string()
        values[key] = try string()
      }
      return values
    }

    mutating func stamp() throws(Malformed) -> ConfigDirectory.FileStamp {
      ConfigDirectory.FileStamp(
        seconds: try integer(), nanoseconds: try integer(), changeSeconds: try integer(),
        changeNanoseconds: try integer(), size: Int64(try integer()), inode: UInt64(truncatingIfNeeded: try integer()))
    }

    mutating func address() throws(Malformed) -> IPAddress {
      guard let address = IPAddress(try string()) else { throw Malformed() }
      return address
    }

    mutating func optionalAddress() throws(Malformed) -> IPAddress? {
      guard let text = try optionalString() else { return nil }
      guard let address = IPAddress(text) else { throw Malformed() }
      return address
    }

    mutating func prefix() throws(Malformed) -> IPNetwork {
      guard let network = IPNetwork(try string()) else { throw Malformed() }
      return network
    }

    mutating func network() throws(Malformed) -> Network {
      var network = Network(
        name: try string(), id: try string(), driver: try string(), networkInterface: try string())
      if try byte() == 1 {
        let seconds = try integer()
        let nanoseconds = try integer()
        guard (0..<1_000_000_000).contains(nanoseconds) else { throw Malformed() }
        network.created = Timestamp(seconds: Int64(seconds), nanoseconds: Int32(nanoseconds))
      }
      for _ in 0..<(try count()) {
        var subnet = Subnet(subnet: try prefix(), gateway: try optionalAddress())
        if try byte() == 1 {
          subnet.leaseRange = LeaseRange(startIP: try optionalAddress(), endIP: try optionalAddress())
        }
        network.subnets.append(subnet)
      }
      for _ in 0..<(try count()) {
        let destination = try prefix()
        let gateway = try address()
        let metric = try optionalString().map { UInt32($0) }
        network.routes.append(Route(destination: destination, gateway: gateway, metric: metric ?? nil))
      }
      let flags = try byte()
      network.ipv6Enabled = flags & 1 != 0
      network.internal = flags & 2 != 0
      network.dnsEnabled = flags & 4 != 0
      network.networkDNSServers = try strings()
      network.labels = try dictionary()
      network.options = try dictionary()
      network.ipamOptions = try dictionary()
      return network
    }
  }
}
