import ContainerNetworkCore
import NetworkAddress

/// What the last scan of a config directory found, kept in one file so that a new process reads one file instead of
/// every `.conflist`.
///
/// Each entry is a file name, the file's stamp when it was read, and either the network it held or the reason it was
/// skipped. An entry is trusted only while the file's stamp (modification and change time, size, inode) is the
/// same, so the index never hides an edit; an entry whose checksum fails, or anything else unreadable in it, makes
/// the whole index count as absent. It holds no config lists: setup reads the one file it needs.
///
/// The format is ours and private: a version tag, the directory, a table of each entry's offset and checksum, then
/// the entries as length-prefixed fields. It is rebuilt whenever it does not decode.
enum NetworkIndex {
  typealias Entry = (name: String, stamp: ConfigDirectory.FileStamp, result: ConfigDirectory.FileResult)

  /// Bumped whenever the layout or the meaning of a field changes.
  static let tag = Array("cnet-network-index-5\n".utf8)
  /// An index larger than this is not one of ours.
  static let maximumSize = 256 << 20

  /// The index of `directory`'s `entries`. The directory is recorded so that an index is never taken for another
  /// directory's (the file name holds only a short hash of it). A table of entry offsets lets readers decode parts
  /// of it side by side.
  static func encode(_ entries: [Entry], directory: String) -> [UInt8] {
    var body = Writer()
    body.bytes.reserveCapacity(entries.count * 512)
    var offsets: [Int] = []
    offsets.reserveCapacity(entries.count)
    for entry in entries {
      offsets.append(body.bytes.count)
      body.string(entry.name)
      body.stamp(entry.stamp)
      switch entry.result {
      case .network(let stored):
        body.byte(0)
        body.network(stored.network)
      case .skipped(let reason):
        body.byte(1)
        body.string(reason)
      }
    }
    var writer = Writer()
    writer.bytes.reserveCapacity(body.bytes.count + 64 + 16 * entries.count + directory.utf8.count)
    writer.bytes.append(contentsOf: tag)
    writer.string(directory)
    writer.integer(entries.count)
    for (index, offset) in offsets.enumerated() {
      let end = index + 1 < offsets.count ? offsets[index + 1] : body.bytes.count
      writer.integer(offset)
      writer.integer(Int(bitPattern: UInt(fnv1a64(body.bytes[offset..<end]))))
    }
    writer.bytes.append(contentsOf: body.bytes)
    return writer.bytes
  }

  /// FNV-1a, 64 bits: the index's per-entry checksum, and the short name of a config directory.
  static func fnv1a64(_ bytes: some Sequence<UInt8>) -> UInt64 {
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325
    for byte in bytes { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
    return hash
  }

  /// The entries, or nil when `bytes` is not an index this version wrote for `directory`. Networks get
  /// `directory`/name as path.
  static func decode(_ bytes: [UInt8], directory: String) -> [Entry]? {
    guard let contents = Contents(bytes, directory: directory) else { return nil }
    return contents.entries(0..<contents.count)
  }

  /// An index whose header has been checked; its entries decode in any ranges, on any threads.
  struct Contents: Sendable {
    let bytes: [UInt8]
    let directory: String
    /// Where each entry starts, and where the last one ends.
    private let bounds: [Int]
    /// Each entry's checksum: a damaged entry could otherwise still decode, into different values.
    private let checksums: [UInt64]

    /// Nil when `bytes` is not an index this version wrote for `directory`.
    init?(_ bytes: [UInt8], directory: String) {
      var reader = Reader(bytes: bytes)
      do {
        guard try reader.take(tag.count).elementsEqual(tag), try reader.string() == directory else { return nil }
        let count = try reader.count()
        guard count <= (bytes.count - reader.offset) / 16 else { return nil }
        var bounds: [Int] = []
        var checksums: [UInt64] = []
        bounds.reserveCapacity(count + 1)
        checksums.reserveCapacity(count)
        for _ in 0..<count {
          bounds.append(try reader.integer())
          checksums.append(UInt64(bitPattern: Int64(try reader.integer())))
        }
        let start = reader.offset
        bounds = bounds.map { $0 &+ start }
        bounds.append(bytes.count)
        // Offsets must run forward inside the body; each entry is then checked to end where the next begins.
        guard bounds.first.map({ $0 >= start }) ?? true,
          zip(bounds, bounds.dropFirst()).allSatisfy({ $0 <= $1 })
        else { return nil }
        self.bytes = bytes
        self.directory = directory
        self.bounds = bounds
        self.checksums = checksums
      } catch {
        return nil
      }
    }

    var count: Int { bounds.count - 1 }

    /// The entries in `range`, or nil when one of them does not decode or does not fill its space exactly.
    func entries(_ range: Range<Int>) -> [Entry]? {
      var result: [Entry] = []
      result.reserveCapacity(range.count)
      for index in range {
        guard fnv1a64(bytes[bounds[index]..<bounds[index + 1]]) == checksums[index] else { return nil }
        var reader = Reader(bytes: bytes, offset: bounds[index], end: bounds[index + 1])
        do {
          let name = try reader.string()
          let stamp = try reader.stamp()
          switch try reader.byte() {
          case 0:
            let network = try reader.network()
            let stored = StoredNetwork(network: network, path: directory + "/" + name, configList: nil)
            result.append((name, stamp, .network(stored)))
          case 1:
            result.append((name, stamp, .skipped(try reader.string())))
          default:
            return nil
          }
        } catch {
          return nil
        }
        guard reader.isAtEnd else { return nil }
      }
      return result
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
        optionalString(route.gateway?.description)
        optionalString(route.metric.map { String($0) })
        string(route.routeType.rawValue)
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
    /// Reading stops here: the end of the file, or of one entry.
    var end: Int

    init(bytes: [UInt8], offset: Int = 0, end: Int? = nil) {
      self.bytes = bytes
      self.offset = offset
      self.end = end ?? bytes.count
    }

    var isAtEnd: Bool { offset == end }

    mutating func take(_ count: Int) throws(Malformed) -> ArraySlice<UInt8> {
      guard count >= 0, count <= end - offset else { throw Malformed() }
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
      guard value >= 0, value <= end - offset else { throw Malformed() }
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
        let gateway = try optionalAddress()
        let metric = try optionalString().map { UInt32($0) }
        guard let type = RouteType(rawValue: try string()) else { throw Malformed() }
        network.routes.append(Route(destination: destination, gateway: gateway, metric: metric ?? nil, routeType: type))
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
