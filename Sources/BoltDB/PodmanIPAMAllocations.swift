#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

/// The addresses Podman's netavark backend has handed out, read from its IPAM database (`ipam.db`).
///
/// Podman (containers/common `libnetwork/netavark/ipam.go`) keeps one top-level bucket per network name. Inside it,
/// one bucket per subnet, keyed by the subnet's CIDR text (`10.89.0.0/24`), maps each allocated address (4 or 16 raw
/// bytes) to the container ID, plus a `lastIP` key holding the last address handed out dynamically; and an `ids`
/// bucket maps each container ID to a JSON array of its addresses on that network. The subnet buckets are what
/// Podman itself consults before allocating, so they are what ``addressesByNetwork`` reports.
///
/// Anything outside that layout throws ``BoltError/Kind/unexpectedContent(_:)``: an allocator that worked from a
/// partial picture could hand out an address a Podman container holds.
public struct PodmanIPAMAllocations: Sendable, Equatable {
  /// Where rootful Podman 4.x keeps the database. It is fixed in containers/common for root and does not follow
  /// `--runroot`, `--tmpdir` or `--network-config-dir`; rootless Podman uses `<runroot>/networks/ipam.db` instead.
  public static let defaultPath = "/run/containers/networks/ipam.db"

  /// One network's bucket.
  public struct Network: Sendable, Equatable {
    /// The network name (the bucket's key).
    public var name: String
    /// The subnet buckets, keyed by CIDR text as Podman wrote it.
    public var subnets: [String: Subnet]
    /// The `ids` bucket: container ID → that container's addresses on this network, as Podman recorded them.
    public var containers: [String: [String]]

    public init(name: String, subnets: [String: Subnet], containers: [String: [String]]) {
      self.name = name
      self.subnets = subnets
      self.containers = containers
    }
  }

  /// One subnet bucket of a network.
  public struct Subnet: Sendable, Equatable {
    /// The subnet in CIDR notation, e.g. `10.89.0.0/24` or `fd00::/64`.
    public var subnet: String
    /// Allocated address (Go's `net.IP` text form) → container ID.
    public var addresses: [String: String]
    /// Where Podman's next dynamic allocation in this subnet starts searching (after this address); nil before the
    /// first dynamic allocation.
    public var lastIP: String?

    public init(subnet: String, addresses: [String: String], lastIP: String?) {
      self.subnet = subnet
      self.addresses = addresses
      self.lastIP = lastIP
    }
  }

  /// Every network that has a bucket, by name.
  public var networks: [String: Network]

  public init(networks: [String: Network]) {
    self.networks = networks
  }

  /// Reads Podman's database at `path`. A missing or empty file means Podman has allocated nothing yet: Podman
  /// creates the file on its first allocation, and bbolt initializes an empty file on open.
  public init(path: String = PodmanIPAMAllocations.defaultPath) throws(BoltError) {
    let file: BoltFile
    do {
      file = try BoltFile(path: path)
    } catch {
      if error.isFileMissing || error.kind == .noValidMeta(first: .missing, second: .missing) && isEmptyFile(path) {
        self.init(networks: [:])
        return
      }
      throw error
    }
    try self.init(file: file)
  }

  /// Decodes Podman's layout from an already opened database.
  public init(file: BoltFile) throws(BoltError) {
    var networks: [String: Network] = [:]
    for (nameBytes, networkBucket) in try nestedBuckets(of: file.rootBucket, file: file, what: "top level") {
      let name = try text(nameBytes, file: file, what: "network name")
      var network = Network(name: name, subnets: [:], containers: [:])
      for (key, bucket) in try nestedBuckets(of: networkBucket, file: file, what: "network \(name)") {
        let keyText = try text(key, file: file, what: "bucket name in network \(name)")
        if keyText == "ids" {
          network.containers = try Self.containers(bucket, network: name, file: file)
        } else {
          network.subnets[keyText] = try Self.subnet(keyText, bucket, network: name, file: file)
        }
      }
      networks[name] = network
    }
    self.init(networks: networks)
  }

  /// Network name → allocated address → container ID, over all subnets of each network.
  public var addressesByNetwork: [String: [String: String]] {
    networks.mapValues { network in
      var addresses: [String: String] = [:]
      for subnet in network.subnets.values { addresses.merge(subnet.addresses) { first, _ in first } }
      return addresses
    }
  }

  /// Network name → allocated address → container ID, read from the database at `path`; empty when it does not exist.
  public static func read(path: String = PodmanIPAMAllocations.defaultPath) throws(BoltError)
    -> [String: [String: String]]
  {
    try PodmanIPAMAllocations(path: path).addressesByNetwork
  }

  private static func subnet(_ cidr: String, _ bucket: BoltFile.Bucket, network: String, file: BoltFile)
    throws(BoltError) -> Subnet
  {
    var subnet = Subnet(subnet: cidr, addresses: [:], lastIP: nil)
    let place = "network \(network) subnet \(cidr)"
    try bucket.forEach { (key, value, isBucket) throws(BoltError) in
      guard !isBucket else { throw unexpectedContent(file, "\(place): unexpected nested bucket") }
      if key == Array("lastIP".utf8) {
        guard let address = ipText(value) else {
          throw unexpectedContent(file, "\(place): lastIP holds \(value.count) bytes, not an IP address")
        }
        subnet.lastIP = address
        return
      }
      guard let address = ipText(key) else {
        throw unexpectedContent(file, "\(place): key of \(key.count) bytes is neither an IP address nor lastIP")
      }
      subnet.addresses[address] = try text(value, file: file, what: "container ID for \(address) in \(place)")
    }
    return subnet
  }

  private static func containers(_ bucket: BoltFile.Bucket, network: String, file: BoltFile) throws(BoltError)
    -> [String: [String]]
  {
    var containers: [String: [String]] = [:]
    try bucket.forEach { (key, value, isBucket) throws(BoltError) in
      let id = try text(key, file: file, what: "container ID in network \(network)")
      guard !isBucket, let addresses = jsonStringArray(value) else {
        throw unexpectedContent(file, "network \(network) ids: container \(id) has no JSON list of addresses")
      }
      containers[id] = addresses
    }
    return containers
  }
}

private func unexpectedContent(_ file: BoltFile, _ text: String) -> BoltError {
  BoltError(path: file.path, kind: .unexpectedContent(text))
}

/// The nested buckets of `bucket`, throwing if it also holds plain values (Podman never puts any there).
private func nestedBuckets(of bucket: BoltFile.Bucket, file: BoltFile, what: String) throws(BoltError)
  -> [(name: [UInt8], bucket: BoltFile.Bucket)]
{
  var result: [(name: [UInt8], bucket: BoltFile.Bucket)] = []
  for entry in bucket.entries {
    guard case .bucket(let nested) = entry.content else {
      throw unexpectedContent(file, "\(what): key \(printable(entry.key)) holds a value where Podman keeps buckets")
    }
    result.append((entry.key, nested))
  }
  return result
}

/// Bytes that must be UTF-8 text (names, CIDRs, container IDs).
private func text(_ bytes: [UInt8], file: BoltFile, what: String) throws(BoltError) -> String {
  let decoded = String(decoding: bytes, as: UTF8.self)
  guard Array(decoded.utf8) == bytes else { throw unexpectedContent(file, "\(what) is not UTF-8 text") }
  return decoded
}

/// Keys in messages: text when printable ASCII, else hex.
private func printable(_ bytes: [UInt8]) -> String {
  if !bytes.isEmpty, bytes.allSatisfy({ (0x20..<0x7F).contains($0) }) {
    return "\"\(String(decoding: bytes, as: UTF8.self))\""
  }
  let digits = Array("0123456789abcdef")
  return "0x" + String(bytes.flatMap { [digits[Int($0 >> 4)], digits[Int($0 & 0x0F)]] })
}

private func isEmptyFile(_ path: String) -> Bool {
  var status = stat()
  return stat(path, &status) == 0 && status.st_size == 0
}

/// An address in Go's `net.IP.String()` form: Podman stores IPv4 as 4 bytes; 16 bytes are IPv6, printed as RFC 5952
/// text, except IPv4-mapped ones, which Go prints as IPv4.
func ipText(_ bytes: [UInt8]) -> String? {
  switch bytes.count {
  case 4:
    return bytes.map { String($0) }.joined(separator: ".")
  case 16:
    if bytes[0..<10].allSatisfy({ $0 == 0 }) && bytes[10] == 0xFF && bytes[11] == 0xFF {
      return bytes[12..<16].map { String($0) }.joined(separator: ".")
    }
    let groups = (0..<8).map { UInt16(bytes[2 * $0]) << 8 | UInt16(bytes[2 * $0 + 1]) }
    // The first longest run of two or more zero groups becomes "::"; a single zero group stays "0".
    var bestStart = -1
    var bestLength = 1
    var index = 0
    while index < 8 {
      guard groups[index] == 0 else {
        index += 1
        continue
      }
      let start = index
      while index < 8 && groups[index] == 0 { index += 1 }
      if index - start > bestLength {
        bestStart = start
        bestLength = index - start
      }
    }
    func hex(_ range: Range<Int>) -> String { groups[range].map { String($0, radix: 16) }.joined(separator: ":") }
    guard bestStart >= 0 else { return hex(0..<8) }
    return hex(0..<bestStart) + "::" + hex((bestStart + bestLength)..<8)
  default:
    return nil
  }
}

/// A JSON array of strings as Go's encoding/json writes `[]net.IP` (`["10.89.0.5","fd00::5"]`, or `null`); nil for
/// anything else. Addresses never need escapes, so a backslash is treated as not matching.
func jsonStringArray(_ bytes: [UInt8]) -> [String]? {
  var index = 0
  func skipSpace() {
    while index < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[index]) { index += 1 }
  }
  func take(_ byte: UInt8) -> Bool {
    skipSpace()
    guard index < bytes.count, bytes[index] == byte else { return false }
    index += 1
    return true
  }
  skipSpace()
  if bytes[index...].starts(with: "null".utf8) {
    index += 4
    skipSpace()
    return index == bytes.count ? [] : nil
  }
  guard take(UInt8(ascii: "[")) else { return nil }
  var strings: [String] = []
  if take(UInt8(ascii: "]")) {
    skipSpace()
    return index == bytes.count ? strings : nil
  }
  repeat {
    guard take(UInt8(ascii: "\"")) else { return nil }
    let start = index
    while index < bytes.count, bytes[index] != UInt8(ascii: "\"") {
      guard bytes[index] != UInt8(ascii: "\\"), bytes[index] >= 0x20 else { return nil }
      index += 1
    }
    guard index < bytes.count else { return nil }
    let string = String(decoding: bytes[start..<index], as: UTF8.self)
    guard string.utf8.elementsEqual(bytes[start..<index]) else { return nil }
    strings.append(string)
    index += 1
  } while take(UInt8(ascii: ","))
  guard take(UInt8(ascii: "]")) else { return nil }
  skipSpace()
  return index == bytes.count ? strings : nil
}
