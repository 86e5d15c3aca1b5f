import ContainerNetworkCore
import NetworkAddress
import OrderedJSON

/// What netavark 1.4 prints on stdout, in its bytes: serde_json's compact text plus a newline for the status map
/// and errors, its pretty text for `version`.
///
/// netavark's structs decide the layout, not Podman's model: every status block has all three fields, in the
/// order `dns_search_domains`, `dns_server_ips`, `interfaces` (empty lists stay, as the bridge driver writes them),
/// an interface has `mac_address` then `subnets`, and an address without a gateway says `"gateway":null`.
/// ``StatusBlock``'s own `Encodable` is Podman's layout (empty fields left out), so it is not used here.
enum NetavarkOutput {
  /// The map from network name to status block, networks in the request's order (netavark's is a hash map's, so
  /// any order reads the same), interfaces by name.
  static func statuses(_ statuses: [String: StatusBlock], order: [String]) -> [UInt8] {
    var names = order.filter { statuses[$0] != nil }
    names += statuses.keys.filter { !names.contains($0) }.sorted()
    var object = JSONObject()
    for name in names { object[name] = statuses[name].map(statusBlock) }
    return JSONValue.object(object).serialized() + [0x0A]
  }

  static func statusBlock(_ block: StatusBlock) -> JSONValue {
    var interfaces = JSONObject()
    for name in block.interfaces.keys.sorted() {
      let interface = block.interfaces[name]!
      interfaces[name] = [
        "mac_address": .string(interface.macAddress?.description ?? ""),
        "subnets": .array(
          interface.subnets.map { address in
            ["gateway": address.gateway.map { .string($0.description) } ?? .null, "ipnet": .string("\(address.ipnet)")]
          }),
      ]
    }
    return [
      "dns_search_domains": .array(block.dnsSearchDomains.map { .string($0) }),
      "dns_server_ips": .array(block.dnsServerIPs.map { .string($0.description) }),
      "interfaces": .object(interfaces),
    ]
  }

  /// `{"error":"…"}` and a newline, as netavark prints any failure (on stdout, where Podman looks for it).
  static func error(_ message: String) -> [UInt8] {
    JSONValue.object(["error": .string(message)]).serialized() + [0x0A]
  }

  /// `netavark version`: netavark's four fields with cnet's version. A build of cnet records neither its commit nor
  /// its time, so those are empty, as netavark's own are when it was built outside git.
  static func version() -> [UInt8] {
    let info: JSONValue = [
      "version": .string(CNet.version), "commit": "", "build_time": "", "target": .string(buildTarget),
    ]
    return GoJSONFormat.indented(info, indent: "  ") + [0x0A]
  }

  /// The target triple in Rust's spelling, which netavark prints.
  static var buildTarget: String {
    #if arch(x86_64)
      let architecture = "x86_64"
    #elseif arch(arm64)
      let architecture = "aarch64"
    #else
      let architecture = "unknown"
    #endif
    #if canImport(Musl)
      return "\(architecture)-unknown-linux-musl"
    #else
      return "\(architecture)-unknown-linux-gnu"
    #endif
  }
}
