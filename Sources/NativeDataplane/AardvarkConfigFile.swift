import ContainerNetworkCore
import NetworkAddress

/// One network's file in aardvark-dns's configuration directory, named after the network, in the text netavark 1.4
/// writes and aardvark-dns 1.4 reads (`src/dns/aardvark.rs` and `src/config/mod.rs` at v1.4.0):
///
/// ```
/// 10.89.0.1,fd00::1 1.1.1.1,8.8.8.8
/// <container ID> <IPv4,…> <IPv6,…> <name,alias,…>[ <DNS server,…>]
/// ```
///
/// The first line holds the addresses aardvark-dns listens on (the network's gateways) and, after one space, the
/// network's upstream servers when it has any. Each further line is a container: four fields separated by exactly
/// one space (an empty address list leaves two spaces in a row) and, when the container has its own DNS servers, a
/// fifth. Every line ends with a newline.
struct AardvarkNetworkFile: Hashable, Sendable {
  /// Where aardvark-dns listens for this network.
  var bindAddresses: [IPAddress]
  /// The network's upstream servers (`network_dns_servers`); aardvark-dns forwards other names there.
  var networkDNSServers: [IPAddress]
  var entries: [AardvarkEntry]

  init(bindAddresses: [IPAddress], networkDNSServers: [IPAddress] = [], entries: [AardvarkEntry] = []) {
    self.bindAddresses = bindAddresses
    self.networkDNSServers = networkDNSServers
    self.entries = entries
  }

  /// Reads a file. Container lines that aardvark-dns itself would refuse (and with them the whole file) are left
  /// out, so that the next write repairs the network.
  init(parsing text: String, file: String) throws(NetworkError) {
    var lines = text.split(separator: "\n", omittingEmptySubsequences: true)
    guard !lines.isEmpty else { throw NetworkError(.io, "aardvark-dns file \(file) is empty") }
    let header = lines.removeFirst().split(separator: " ", omittingEmptySubsequences: false)
    guard let binds = Self.addresses(header[0]), !binds.isEmpty,
      header.count < 2 || Self.addresses(header[1]) != nil
    else {
      throw NetworkError(
        .io, "aardvark-dns file \(file) has an unreadable first line: \(header.joined(separator: " "))")
    }
    bindAddresses = binds
    networkDNSServers = header.count > 1 ? Self.addresses(header[1]) ?? [] : []
    entries = lines.compactMap { AardvarkEntry(line: $0) }
  }

  /// The file's text, byte for byte as netavark 1.4 writes it.
  var text: String {
    var text = Self.list(bindAddresses)
    if !networkDNSServers.isEmpty { text += " " + Self.list(networkDNSServers) }
    text += "\n"
    for entry in entries { text += entry.line + "\n" }
    return text
  }

  /// The file with `entry` in it, replacing the container's previous line (netavark would append a second one).
  func adding(_ entry: AardvarkEntry) -> AardvarkNetworkFile {
    var file = removing(containerID: entry.containerID)
    file.entries.append(entry)
    return file
  }

  /// The file without the container's lines, matched on the whole ID field (netavark 1.4 matches any line that
  /// contains the ID anywhere).
  func removing(containerID: String) -> AardvarkNetworkFile {
    var file = self
    file.entries.removeAll { $0.containerID == containerID.lowercased() }
    return file
  }

  static func list(_ addresses: [IPAddress]) -> String {
    addresses.map(\.description).joined(separator: ",")
  }

  /// A comma-separated list of addresses; nil when one does not parse. An empty field is an empty list.
  static func addresses(_ field: Substring) -> [IPAddress]? {
    if field.isEmpty { return [] }
    var found: [IPAddress] = []
    for part in field.split(separator: ",", omittingEmptySubsequences: false) {
      guard let address = IPAddress(String(part)) else { return nil }
      found.append(address)
    }
    return found
  }
}

/// One container's line in an ``AardvarkNetworkFile``.
struct AardvarkEntry: Hashable, Sendable {
  var containerID: String
  var ipv4: [IPAddress]
  var ipv6: [IPAddress]
  /// The container's name, then its aliases on the network: what other containers can look it up by.
  var names: [String]
  /// The container's own upstream servers (`dns_servers` of the request), used for its queries instead of the
  /// network's.
  var dnsServers: [IPAddress]

  init(containerID: String, addresses: [IPAddress], names: [String], dnsServers: [IPAddress] = []) {
    self.containerID = containerID
    ipv4 = addresses.filter(\.isIPv4)
    ipv6 = addresses.filter(\.isIPv6)
    self.names = names
    self.dnsServers = dnsServers
  }

  /// Parses a line as aardvark-dns does (IDs and names compared in lower case); nil for a line it would refuse.
  init?(line: Substring) {
    let fields = line.split(separator: " ", omittingEmptySubsequences: false)
    guard fields.count == 4 || fields.count == 5, !fields[0].isEmpty, !fields[3].isEmpty,
      let ipv4 = AardvarkNetworkFile.addresses(fields[1]), ipv4.allSatisfy(\.isIPv4),
      let ipv6 = AardvarkNetworkFile.addresses(fields[2]), ipv6.allSatisfy(\.isIPv6),
      let servers = fields.count == 5 ? AardvarkNetworkFile.addresses(fields[4]) : []
    else { return nil }
    containerID = fields[0].lowercased()
    self.ipv4 = ipv4
    self.ipv6 = ipv6
    names = fields[3].split(separator: ",").map(String.init)
    dnsServers = servers
  }

  var line: String {
    var line = [
      containerID, AardvarkNetworkFile.list(ipv4), AardvarkNetworkFile.list(ipv6), names.joined(separator: ","),
    ].joined(separator: " ")
    if !dnsServers.isEmpty { line += " " + AardvarkNetworkFile.list(dnsServers) }
    return line
  }

  /// Why `text` cannot be a field of a line (a container ID or a name), or nil when it can: the format has no
  /// quoting, so a space, comma or line break would split it.
  static func problem(with text: String) -> String? {
    if text.isEmpty { return "it is empty" }
    if let bad = text.unicodeScalars.first(where: {
      $0 == " " || $0 == "," || $0.properties.generalCategory == .control
    }) {
      return "it contains \(bad == " " ? "a space" : bad == "," ? "a comma" : "a control character")"
    }
    return nil
  }
}
