import ContainerNetworkCore
import FoundationEssentials
import OrderedJSON
import SystemSupport

#if canImport(Glibc)
  import Glibc
#endif

/// What the native dataplane made, or is about to make, for one container on one network: written before the first
/// kernel change (``Phase/intent``) and again after the last (``Phase/done``). Teardown, garbage collection and
/// reload read it; a crash between the two writes leaves an intent that tells them what to look for.
struct AttachmentState: Codable, Hashable, Sendable {
  enum Phase: String, Codable, Sendable {
    case intent
    case done
  }

  var phase: Phase
  var containerID: String
  var containerName: String
  var network: String
  var networkID: String
  var driver: String
  var namespacePath: String
  /// The namespace's device and inode at setup, so that another namespace later mounted at the same path is not
  /// taken for the container's.
  var namespaceIdentity: String?
  var interfaceName: String
  /// The host end of the veth (bridge driver).
  var hostInterface: String?
  var bridge: String?
  var macAddress: String
  var addresses: [String]
  /// The container's published ports, kept by the state of the network whose addresses they forward to.
  var publishedPorts: PublishedPorts?

  enum CodingKeys: String, CodingKey {
    case phase
    case containerID = "container_id"
    case containerName = "container_name"
    case network
    case networkID = "network_id"
    case driver
    case namespacePath = "netns"
    case namespaceIdentity = "netns_identity"
    case interfaceName = "interface_name"
    case hostInterface = "host_interface"
    case bridge
    case macAddress = "mac_address"
    case addresses
    case publishedPorts = "published_ports"
  }
}

extension AttachmentState {
  /// The file's JSON, built member by member: a setup writes two of these, and going through `Encodable` (keyed
  /// containers, boxing every field) took most of each write's own time. The keys and their order are those of
  /// ``CodingKeys``, absent optionals left out, as the synthesized encoder writes them; ``read(network:containerID:)``
  /// decodes it with the synthesized decoder, which a test holds to this.
  var json: JSONValue {
    var object: JSONObject = [
      CodingKeys.phase.stringValue: .string(phase.rawValue),
      CodingKeys.containerID.stringValue: .string(containerID),
      CodingKeys.containerName.stringValue: .string(containerName),
      CodingKeys.network.stringValue: .string(network),
      CodingKeys.networkID.stringValue: .string(networkID),
      CodingKeys.driver.stringValue: .string(driver),
      CodingKeys.namespacePath.stringValue: .string(namespacePath),
    ]
    if let namespaceIdentity { object[CodingKeys.namespaceIdentity.stringValue] = .string(namespaceIdentity) }
    object[CodingKeys.interfaceName.stringValue] = .string(interfaceName)
    if let hostInterface { object[CodingKeys.hostInterface.stringValue] = .string(hostInterface) }
    if let bridge { object[CodingKeys.bridge.stringValue] = .string(bridge) }
    object[CodingKeys.macAddress.stringValue] = .string(macAddress)
    object[CodingKeys.addresses.stringValue] = .array(addresses.map { .string($0) })
    // Only a container with published ports has them; rare enough for the encoder.
    if let publishedPorts, let value = try? JSONValueEncoder().encode(publishedPorts) {
      object[CodingKeys.publishedPorts.stringValue] = value
    }
    return .object(object)
  }
}

/// The state files: `<state dir>/<network>/<container ID>.json`, each replaced atomically (a reader sees an old or a
/// new one, never a mix). They live under /run, so they end with the boot, as the links they describe do.
struct AttachmentStateStore: Sendable {
  var directory: String

  func path(network: String, containerID: String) -> String {
    "\(directory)/\(network)/\(containerID).json"
  }

  func write(_ state: AttachmentState) throws(NetworkError) {
    let path = path(network: state.network, containerID: state.containerID)
    do {
      if state.phase == .intent { try makeDirectories("\(directory)/\(state.network)") }
      // No fsync: the state dies with the boot, as the kernel objects it describes.
      try AtomicFile.write(state.json.serialized(), to: path, mode: 0o600, durable: false)
    } catch {
      throw NetworkError(.io, "cannot write the state file \(path): \(error)", causes: [error])
    }
  }

  /// The state of the container on the network; nil when there is none or it cannot be read (teardown then goes by
  /// the names it can derive).
  func read(network: String, containerID: String) -> AttachmentState? {
    let path = path(network: network, containerID: containerID)
    guard let bytes = try? RegularFile.read(path: path, limit: 1 << 20) else { return nil }
    return try? JSONValueDecoder().decode(AttachmentState.self, from: bytes)
  }

  func remove(network: String, containerID: String) {
    unlink(path(network: network, containerID: containerID))
  }

  /// Every state file of every network.
  func all() -> [AttachmentState] {
    var found: [AttachmentState] = []
    for network in DirectoryEntries.names(at: directory) ?? [] {
      for file in DirectoryEntries.names(at: "\(directory)/\(network)") ?? [] where file.hasSuffix(".json") {
        if let state = read(network: network, containerID: String(file.dropLast(5))) { found.append(state) }
      }
    }
    return found
  }

  /// The container's states on every network but `excluded`.
  func states(containerID: String, excluding excluded: Set<String>) -> [AttachmentState] {
    (DirectoryEntries.names(at: directory) ?? []).sorted().compactMap { network in
      excluded.contains(network) ? nil : read(network: network, containerID: containerID)
    }
  }

  /// Removes the network's directory, once it has no containers.
  func removeNetwork(_ network: String) {
    let networkDirectory = "\(directory)/\(network)"
    for file in DirectoryEntries.names(at: networkDirectory) ?? [] { unlink("\(networkDirectory)/\(file)") }
    rmdir(networkDirectory)
  }

}
