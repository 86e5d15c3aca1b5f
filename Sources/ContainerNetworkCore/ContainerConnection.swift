/// `podman network connect` and `disconnect` for every backend: a container that an earlier setup recorded joins or
/// leaves one more network, through the backend's own setup and teardown. As Podman does, both pass the container's
/// published ports with the one network, so they keep answering through the networks it stays on.
extension ContainerNetwork {
  /// The container named by `nameOrID`: an ID, a unique ID prefix, or the name its setup recorded.
  public func attachedContainer(_ nameOrID: String) async throws -> AttachedContainer {
    let containers = try await attachedContainers()
    let chosen = try ContainerSelection.choose([nameOrID], among: containers.map { (id: $0.id, name: $0.name) })
    return containers.first { chosen.contains($0.id) }!
  }

  /// Attaches the container to `network` with `options`; an empty interface name becomes the first `ethN` the
  /// container does not use. Returns the new attachment's status.
  @discardableResult
  public func connect(
    network: String, container nameOrID: String, options: PerNetworkOptions = PerNetworkOptions()
  ) async throws -> [String: StatusBlock] {
    let container = try await attachedContainer(nameOrID)
    let name = try await inspect(network).name
    if container.networks[name] != nil {
      throw NetworkError(.alreadyExists, "container \(container.id) is already connected to network \(name)")
    }
    var perNetwork = options
    if perNetwork.interfaceName.isEmpty {
      let used = Set(container.networks.values.map(\.name))
      perNetwork.interfaceName = NameAllocator.firstFree(prefix: "eth", used: used, start: 0)
    }
    return try await setup(
      namespacePath: container.namespacePath,
      options: NetworkOptions(
        containerID: container.id, containerName: container.name, portMappings: container.portMappings,
        networks: [NamedPerNetworkOptions(name, perNetwork)]))
  }

  /// Detaches the container from `network`. With `force`, a container that is not connected is not an error.
  public func disconnect(network: String, container nameOrID: String, force: Bool = false) async throws {
    let container = try await attachedContainer(nameOrID)
    let name = (try? await inspect(network).name) ?? network
    guard let interface = container.networks[name] else {
      if force { return }
      throw NetworkError(.notFound, "container \(container.id) is not connected to network \(name)")
    }
    try await teardown(
      namespacePath: container.namespacePath,
      options: NetworkOptions(
        containerID: container.id, containerName: container.name, portMappings: container.portMappings,
        networks: [NamedPerNetworkOptions(name, PerNetworkOptions(interfaceName: interface.name))]))
  }
}
