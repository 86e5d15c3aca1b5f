import NetworkAddress

/// The `/etc/resolv.conf` and `/etc/hosts` a container sees, written as Podman writes them for a container on these
/// networks, so that a command in the container resolves the other containers by name.
public enum ContainerDNSFiles {
  /// The networks' DNS servers first, then the host's; the networks' search domains (`dns.podman`) before the
  /// host's. The host's loopback resolvers are left out: the container cannot reach the host's 127.0.0.1.
  public static func resolvConf(statuses: [String: StatusBlock], hostResolvConf: String) -> String {
    var nameservers: [String] = []
    var search: [String] = []
    for name in statuses.keys.sorted() {
      let status = statuses[name]!
      for server in status.dnsServerIPs.map(\.description) where !nameservers.contains(server) {
        nameservers.append(server)
      }
      for domain in status.dnsSearchDomains where !search.contains(domain) { search.append(domain) }
    }
    var options: [String] = []
    for line in hostResolvConf.split(whereSeparator: \.isNewline) {
      let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
      guard let keyword = fields.first, fields.count > 1 else { continue }
      switch keyword {
      case "nameserver":
        let server = fields[1]
        let loopback = IPAddress(server).map { $0.isIPv4 ? $0.description.hasPrefix("127.") : $0.description == "::1" }
        if loopback != true && !nameservers.contains(server) { nameservers.append(server) }
      case "search", "domain":
        for domain in fields.dropFirst() where !search.contains(domain) { search.append(domain) }
      case "options":
        options += fields.dropFirst()
      default:
        break
      }
    }
    var lines: [String] = []
    if !search.isEmpty { lines.append("search " + search.joined(separator: " ")) }
    lines += nameservers.map { "nameserver \($0)" }
    if !options.isEmpty { lines.append("options " + options.joined(separator: " ")) }
    return lines.joined(separator: "\n") + "\n"
  }

  /// localhost, then the container's own addresses under its name and short ID.
  public static func hosts(containerName: String, containerID: String, statuses: [String: StatusBlock]) -> String {
    var lines = ["127.0.0.1\tlocalhost localhost.localdomain", "::1\tlocalhost localhost.localdomain"]
    let names = [containerName, String(containerID.prefix(12))].filter { !$0.isEmpty }
    for name in statuses.keys.sorted() {
      for interface in statuses[name]!.interfaces.keys.sorted() {
        for subnet in statuses[name]!.interfaces[interface]!.subnets {
          lines.append("\(subnet.ipnet.address)\t\(names.joined(separator: " "))")
        }
      }
    }
    return lines.joined(separator: "\n") + "\n"
  }
}
