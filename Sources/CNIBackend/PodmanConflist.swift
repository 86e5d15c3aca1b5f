import CNIRuntime
import ContainerNetworkCore
import NetworkAddress
import OrderedJSON

/// Conversion between Podman's CNI config lists and ``Network``.
///
/// The JSON written is what Podman 4.x writes for the same network (key order, indentation, plugin chain), and the
/// reader accepts whatever Podman writes, so networks move between the two tools unchanged.
enum PodmanConflist {
  static let cniVersion = "0.4.0"
  static let dnsDomain = "dns.podman"
  static let labelsKey = "podman_labels"
  static let optionsKey = "podman_options"

  // MARK: Writing

  /// The config list for a completed network (subnets, gateways, interface and IPAM driver filled in).
  static func configList(for network: Network, dnsPluginAvailable: Bool) -> JSONValue {
    var root = JSONObject()
    var args = JSONObject()
    if !network.labels.isEmpty { args[labelsKey] = stringMap(network.labels) }
    if !network.options.isEmpty { args[optionsKey] = stringMap(network.options) }
    // Go marshals this level from a map, so the keys come out sorted.
    if !args.isEmpty { root["args"] = .object(args) }
    root["cniVersion"] = .string(cniVersion)
    root["name"] = .string(network.name)
    var plugins: [JSONValue] = []
    let ipam = ipamConfig(for: network)
    let hasHostLocal = network.ipamDriver == "host-local"
    switch network.driver {
    case "macvlan", "ipvlan":
      var plugin = JSONObject()
      plugin["type"] = .string(network.driver)
      // Without a parent, the plugin takes the interface of the host's default route.
      if !network.networkInterface.isEmpty { plugin["master"] = .string(network.networkInterface) }
      plugin["ipam"] = ipam
      if let mtu = network.options["mtu"], let value = Int(mtu), value > 0 { plugin["mtu"] = .integer(value) }
      if let mode = network.options["mode"], !mode.isEmpty { plugin["mode"] = .string(mode) }
      if hasHostLocal { plugin["capabilities"] = ["ips": true] }
      plugins.append(.object(plugin))
    default:
      var bridge = JSONObject()
      bridge["type"] = "bridge"
      bridge["bridge"] = .string(network.networkInterface)
      bridge["isGateway"] = .bool(!network.internal)
      if !network.internal { bridge["ipMasq"] = true }
      if let mtu = network.options["mtu"], let value = Int(mtu), value > 0 { bridge["mtu"] = .integer(value) }
      bridge["hairpinMode"] = true
      if let vlan = network.options["vlan"], let value = Int(vlan), value > 0 { bridge["vlan"] = .integer(value) }
      bridge["ipam"] = ipam
      if hasHostLocal { bridge["capabilities"] = ["ips": true] }
      plugins.append(.object(bridge))
      plugins.append(["type": "portmap", "capabilities": ["portMappings": true]])
      var firewall: JSONObject = ["type": "firewall", "backend": ""]
      if network.options["isolate"] == "true" { firewall["ingressPolicy"] = "same-bridge" }
      plugins.append(.object(firewall))
      plugins.append(["type": "tuning"])
      if network.dnsEnabled && dnsPluginAvailable {
        plugins.append(["type": "dnsname", "domainName": .string(dnsDomain), "capabilities": ["aliases": true]])
      }
    }
    root["plugins"] = .array(plugins)
    return .object(root)
  }

  /// The file's bytes: Go's MarshalIndent with three spaces, no trailing newline, as Podman writes it.
  static func fileContents(for network: Network, dnsPluginAvailable: Bool) -> [UInt8] {
    GoJSONFormat.indented(configList(for: network, dnsPluginAvailable: dnsPluginAvailable), indent: "   ")
  }

  private static func ipamConfig(for network: Network) -> JSONValue {
    switch network.ipamDriver ?? "host-local" {
    case "none": return ["type": ""]
    case "dhcp": return ["type": "dhcp"]
    default:
      var ipam: JSONObject = ["type": "host-local"]
      if !network.internal {
        var routes: [JSONValue] = []
        var seen = Set<Bool>()
        for subnet in network.subnets where seen.insert(subnet.subnet.isIPv6).inserted {
          routes.append(["dst": .string(subnet.subnet.isIPv6 ? "::/0" : "0.0.0.0/0")])
        }
        for route in network.routes {
          var entry: JSONObject = ["dst": .string(route.destination.description)]
          if let gateway = route.gateway { entry["gw"] = .string(gateway.description) }
          if let metric = route.metric { entry["priority"] = .integer(Int(metric)) }
          routes.append(.object(entry))
        }
        if !routes.isEmpty { ipam["routes"] = .array(routes) }
      }
      let ranges: [JSONValue] = network.subnets.map { subnet in
        var range: JSONObject = ["subnet": .string(subnet.subnet.description)]
        if let start = subnet.leaseRange?.startIP { range["rangeStart"] = .string(start.description) }
        if let end = subnet.leaseRange?.endIP { range["rangeEnd"] = .string(end.description) }
        if let gateway = subnet.gateway { range["gateway"] = .string(gateway.description) }
        return [.object(range)]
      }
      if !ranges.isEmpty { ipam["ranges"] = .array(ranges) }
      return .object(ipam)
    }
  }

  private static func stringMap(_ map: [String: String]) -> JSONValue {
    var object = JSONObject()
    for key in map.keys.sorted() { object[key] = .string(map[key]!) }
    return .object(object)
  }

  // MARK: Reading

  /// Why a config list cannot be listed; the loader prints it next to the file name and skips the file.
  struct ReadError: Error, CustomStringConvertible {
    var description: String
  }

  /// The network a parsed config list describes. `created` is the file's modification time.
  static func network(from root: JSONValue, created: Timestamp?) throws(ReadError) -> Network {
    guard let object = root.objectValue else { throw ReadError(description: "not a JSON object") }
    guard let name = object["name"]?.stringValue, !name.isEmpty else {
      throw ReadError(description: "missing network name")
    }
    do {
      try NameValidation.validateNetworkName(name)
    } catch {
      throw ReadError(description: error.message)
    }
    guard let plugins = object["plugins"]?.arrayValue, !plugins.isEmpty else {
      throw ReadError(description: "no plugins in network \(name)")
    }
    for plugin in plugins where plugin["type"]?.stringValue?.isEmpty ?? true {
      throw ReadError(description: "a plugin of network \(name) has no type")
    }
    var network = Network(name: name, id: NetworkID.of(name: name), created: created)
    let first = plugins[0]
    let type = first["type"]!.stringValue!
    network.driver = type
    switch type {
    case "bridge":
      network.networkInterface = first["bridge"]?.stringValue ?? ""
      if first["isGateway"]?.boolValue != true { network.internal = true }
      if let mtu = first["mtu"]?.intValue, mtu != 0 { network.options["mtu"] = String(mtu) }
      if let vlan = first["vlan"]?.intValue, vlan != 0 { network.options["vlan"] = String(vlan) }
      try readIPAM(first["ipam"], into: &network)
    case "macvlan", "ipvlan":
      network.networkInterface = first["master"]?.stringValue ?? ""
      if let mtu = first["mtu"]?.intValue, mtu != 0 { network.options["mtu"] = String(mtu) }
      if let mode = first["mode"]?.stringValue, !mode.isEmpty { network.options["mode"] = mode }
      try readIPAM(first["ipam"], into: &network)
    default:
      // A foreign driver: list it with what can be known, as Podman does.
      break
    }
    if let args = object["args"]?.objectValue {
      if let labels = args[labelsKey]?.objectValue {
        for member in labels { if let value = member.value.stringValue { network.labels[member.key] = value } }
      }
      if let options = args[optionsKey]?.objectValue {
        for member in options { if let value = member.value.stringValue { network.options[member.key] = value } }
      }
    }
    network.dnsEnabled = plugins.contains { $0["type"]?.stringValue == "dnsname" }
    network.ipv6Enabled = network.subnets.contains { $0.subnet.isIPv6 }
    return network
  }

  private static func readIPAM(_ ipam: JSONValue?, into network: inout Network) throws(ReadError) {
    let type = ipam?["type"]?.stringValue ?? ""
    switch type {
    case "":
      network.ipamOptions["driver"] = "none"
    case "host-local":
      network.ipamOptions["driver"] = "host-local"
      for group in ipam?["ranges"]?.arrayValue ?? [] {
        for range in group.arrayValue ?? [] {
          guard let text = range["subnet"]?.stringValue, let cidr = IPNetwork(text) else {
            throw ReadError(
              description: "invalid subnet \(range["subnet"]?.stringValue ?? "(missing)") in network \(network.name)")
          }
          var subnet = Subnet(subnet: cidr.masked)
          if let gateway = range["gateway"]?.stringValue {
            guard let ip = IPAddress(gateway) else {
              throw ReadError(description: "invalid gateway \(gateway) in network \(network.name)")
            }
            subnet.gateway = ip
          }
          let start = try address(range["rangeStart"], field: "rangeStart", network: network.name)
          let end = try address(range["rangeEnd"], field: "rangeEnd", network: network.name)
          if start != nil || end != nil { subnet.leaseRange = LeaseRange(startIP: start, endIP: end) }
          network.subnets.append(subnet)
        }
      }
    default:
      network.ipamOptions["driver"] = type
    }
  }

  private static func address(_ value: JSONValue?, field: String, network: String) throws(ReadError) -> IPAddress? {
    guard let text = value?.stringValue, !text.isEmpty else { return nil }
    guard let ip = IPAddress(text) else {
      throw ReadError(description: "invalid \(field) \(text) in network \(network)")
    }
    return ip
  }
}
