import CNIRuntime
import ContainerNetworkCore
import NetworkAddress
import OrderedJSON

/// Conversion between Podman's terms and CNI's: the config list and runtime arguments a plugin chain runs with, and
/// the status block made of its result.
extension CNINetworkBackend {
  /// The stored config list, adjusted in memory for this run (never written back).
  nonisolated func configList(for stored: StoredNetwork, staticIPCount: Int) throws -> NetworkConfigList {
    guard var root = try directory.configList(of: stored).objectValue, var plugins = root["plugins"]?.arrayValue else {
      throw NetworkError(.invalidArgument, "network \(stored.network.name) has no plugins")
    }
    for index in plugins.indices {
      guard var plugin = plugins[index].objectValue else { continue }
      if index == 0, staticIPCount > 1, plugin["ipam"]?["type"]?.stringValue == "host-local" {
        // Files from older Podman versions lack the capability, without which host-local ignores the IPs.
        var capabilities = plugin["capabilities"]?.objectValue ?? JSONObject()
        if capabilities["ips"] == nil {
          capabilities["ips"] = true
          plugin["capabilities"] = .object(capabilities)
        }
      }
      if let dataDirectory = configuration.hostLocalDataDirectory {
        if var ipam = plugin["ipam"]?.objectValue, ipam["type"]?.stringValue == "host-local" {
          ipam["dataDir"] = .string(dataDirectory)
          plugin["ipam"] = .object(ipam)
        }
        if plugin["type"]?.stringValue == "tuning", plugin["dataDir"] == nil {
          plugin["dataDir"] = .string("\(dataDirectory)/.tuning")
        }
      }
      plugins[index] = .object(plugin)
    }
    root["plugins"] = .array(plugins)
    do {
      return try NetworkConfigList(object: root)
    } catch {
      throw NetworkError(.invalidArgument, "network \(stored.network.name): \(error)", causes: [error])
    }
  }

  /// CNI_ARGS and capability arguments as Podman passes them.
  nonisolated func runtimeConfiguration(
    namespacePath: String, options: NetworkOptions, network: String, perNetwork: PerNetworkOptions
  ) -> RuntimeConf {
    var args: [(key: String, value: String)] = [("IgnoreUnknown", "1")]
    let podName = options.containerName.isEmpty ? options.containerID : options.containerName
    args.append(("K8S_POD_NAME", podName))
    if let mac = perNetwork.staticMAC { args.append(("MAC", mac.description)) }
    if perNetwork.staticIPs.count == 1 { args.append(("IP", perNetwork.staticIPs[0].description)) }
    var capabilities: [String: JSONValue] = [:]
    if perNetwork.staticIPs.count > 1 {
      capabilities["ips"] = .array(perNetwork.staticIPs.map { .string($0.description) })
    }
    if let mac = perNetwork.staticMAC { capabilities["mac"] = .string(mac.description) }
    if !perNetwork.aliases.isEmpty {
      capabilities["aliases"] = .object([network: .array(perNetwork.aliases.map { .string($0) })])
    }
    let ports = Self.portMappingsCapability(options.portMappings)
    if !ports.isEmpty { capabilities["portMappings"] = .array(ports) }
    return RuntimeConf(
      containerID: options.containerID, netns: namespacePath, ifName: perNetwork.interfaceName, args: args,
      capabilityArgs: capabilities, cacheDirectory: configuration.cacheDirectory)
  }

  /// portmap's `portMappings`: one entry per port and protocol, ranges expanded, the host IP kept.
  static func portMappingsCapability(_ mappings: [PortMapping]) -> [JSONValue] {
    var entries: [JSONValue] = []
    for mapping in mappings {
      for proto in mapping.protocols {
        for offset in 0..<mapping.portCount {
          var entry: JSONObject = [
            "hostPort": .integer(Int(mapping.hostPort) + offset),
            "containerPort": .integer(Int(mapping.containerPort) + offset),
            "protocol": .string(proto),
          ]
          if !mapping.hostIP.isEmpty { entry["hostIP"] = .string(mapping.hostIP) }
          entries.append(.object(entry))
        }
      }
    }
    return entries
  }

  /// The mappings back from portmap's `portMappings`, one port each; entries that are not well-formed are skipped.
  static func portMappings(fromCapability entries: [JSONValue]) -> [PortMapping] {
    entries.compactMap { entry in
      guard let hostPort = entry["hostPort"]?.intValue.flatMap(UInt16.init(exactly:)),
        let containerPort = entry["containerPort"]?.intValue.flatMap(UInt16.init(exactly:))
      else { return nil }
      return PortMapping(
        hostIP: entry["hostIP"]?.stringValue ?? "", containerPort: containerPort, hostPort: hostPort,
        protocol: entry["protocol"]?.stringValue ?? "tcp")
    }
  }

  /// The status block of one attachment: the interfaces inside the container with their MACs and addresses.
  static func statusBlock(from result: CNIResult, namespacePath: String, ifName: String) throws -> StatusBlock {
    var block = StatusBlock()
    func interfaceName(for ip: CNIResult.IPConfig) -> String? {
      guard let index = ip.interface else { return ifName }
      guard result.interfaces.indices.contains(index) else { return nil }
      let interface = result.interfaces[index]
      // Only interfaces inside the container count; the bridge and the host end of the veth do not.
      guard interface.sandbox != nil && !(interface.sandbox ?? "").isEmpty else { return nil }
      return interface.name
    }
    for interface in result.interfaces where !(interface.sandbox ?? "").isEmpty {
      block.interfaces[interface.name] = NetInterface(subnets: [], macAddress: interface.mac.flatMap(MACAddress.init))
    }
    for ip in result.ips {
      guard let name = interfaceName(for: ip) else { continue }
      guard let address = IPNetwork(ip.address) else {
        throw NetworkError(.pluginFailed, "plugin returned an invalid address \(ip.address)")
      }
      block.interfaces[name, default: NetInterface()].subnets.append(
        NetAddress(ipnet: address, gateway: ip.gateway.flatMap(IPAddress.init)))
    }
    block.dnsServerIPs = result.dns.nameservers.compactMap(IPAddress.init)
    block.dnsSearchDomains = result.dns.search
    return block
  }
}
