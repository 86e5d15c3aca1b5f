import CNIRuntime
import ContainerNetworkCore
import Logging
import NetworkAddress
import OrderedJSON

/// Reload: every live attachment run again, DEL then ADD, with the addresses and MAC its first ADD got.
extension CNINetworkBackend {
  public func reload(containers: [String]?) async throws -> [String] {
    // Under cni.lock, as every other plugin run: a setup or teardown at the same time races on the same rules.
    try await withLock { try await reloadLocked(containers: containers) }
  }

  private func reloadLocked(containers: [String]?) async throws -> [String] {
    let live = runtime.cachedAttachments(containerID: nil).filter { $0.resultJSON != nil && !isStale($0) }
    let chosen = try ContainerSelection.choose(
      containers,
      among: live.map { (id: $0.containerID, name: $0.containerName) })
    var reloaded: [String] = []
    for attachment in live.sorted(by: { ($0.containerID, $0.networkName) < ($1.containerID, $1.networkName) })
    where chosen.contains(attachment.containerID) {
      var list: NetworkConfigList
      do {
        list = try NetworkConfigList(data: attachment.config)
      } catch {
        throw NetworkError(
          .io, "the cached config of container \(attachment.containerID) on \(attachment.networkName) is unreadable",
          causes: [error])
      }
      let conf = Self.pinned(attachment, cacheDirectory: configuration.cacheDirectory)
      // Several addresses can only be asked for through the `ips` capability, which the IPAM plugin's host (the
      // first plugin) must declare; one address goes in CNI_ARGS.
      if conf.capabilityArgs["ips"] != nil, let first = list.plugins.first, !first.capabilities.contains("ips") {
        var raw = first.raw
        var capabilities = raw["capabilities"]?.objectValue ?? JSONObject()
        capabilities["ips"] = .bool(true)
        raw["capabilities"] = .object(capabilities)
        if let patched = try? PluginConfig(raw) { list.plugins[0] = patched }
      }
      // Rules flushed behind our back make some DELs fail; what is left of the attachment goes anyway.
      do {
        try await runtime.deleteNetworkList(list, conf)
      } catch {
        configuration.logger.info("reload of \(attachment.containerID): DEL reported \(error)")
      }
      do {
        _ = try await runtime.addNetworkList(list, conf)
      } catch {
        throw NetworkError(
          .pluginFailed, "reloading container \(attachment.containerID) on network \(attachment.networkName): \(error)",
          causes: [error])
      }
      if reloaded.last != attachment.containerID { reloaded.append(attachment.containerID) }
    }
    return reloaded
  }

  /// The attachment's runtime arguments with its addresses and MAC pinned: DEL releases them, and the ADD that
  /// follows must get the same ones back, not the next free ones.
  static func pinned(_ attachment: CachedAttachment, cacheDirectory: String) -> RuntimeConf {
    var conf = RuntimeConf(cached: attachment, cacheDirectory: cacheDirectory)
    guard let result = try? attachment.result() else { return conf }
    let own = result.interfaceIndex(attachment.ifName)
    let addresses = result.ips(ofInterface: attachment.ifName).map { String($0.address.split(separator: "/")[0]) }
    let hasIPs = conf.args.contains { $0.key == "IP" } || conf.capabilityArgs["ips"] != nil
    if !hasIPs && !addresses.isEmpty {
      if addresses.count == 1 {
        conf.args.append((key: "IP", value: addresses[0]))
      } else {
        conf.capabilityArgs["ips"] = .array(addresses.map { .string($0) })
      }
    }
    if !conf.args.contains(where: { $0.key == "MAC" }), let own, let mac = result.interfaces[own].mac {
      conf.args.append((key: "MAC", value: mac))
      conf.capabilityArgs["mac"] = .string(mac)
    }
    return conf
  }
}

extension CNINetworkBackend {
  public func attachedContainers() async throws -> [AttachedContainer] {
    var containers: [String: AttachedContainer] = [:]
    for attachment in runtime.cachedAttachments(containerID: nil)
    where attachment.resultJSON != nil && !isStale(attachment) {
      var container =
        containers[attachment.containerID]
        ?? AttachedContainer(
          id: attachment.containerID, name: attachment.containerName, namespacePath: attachment.netns ?? "",
          networks: [:],
          portMappings: Self.portMappings(fromCapability: attachment.capabilityArgs["portMappings"]?.arrayValue ?? []))
      var interface = NetInterface()
      if let result = try? attachment.result() {
        let own = result.interfaceIndex(attachment.ifName)
        interface.macAddress = own.flatMap { result.interfaces[$0].mac }.flatMap(MACAddress.init)
        interface.subnets = result.ips(ofInterface: attachment.ifName).compactMap {
          guard let ipnet = IPNetwork($0.address) else { return nil }
          return NetAddress(ipnet: ipnet, gateway: $0.gateway.flatMap(IPAddress.init))
        }
      }
      container.networks[attachment.networkName] = NamedInterface(name: attachment.ifName, interface: interface)
      containers[attachment.containerID] = container
    }
    return containers.values.sorted { $0.id < $1.id }
  }
}
