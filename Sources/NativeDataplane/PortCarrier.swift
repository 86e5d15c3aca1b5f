import ContainerNetworkCore
import Logging
import NetavarkBackend
import NetworkAddress
import NetworkNamespace

/// A container on several networks publishes its ports once, through one network's state: netavark adds a rule per
/// network, and the first one wins. Podman's `network connect` and `disconnect` name one network and pass the
/// container's ports again; connecting leaves the ports where they are, and disconnecting the network they go to
/// hands them to a bridge network the container stays on, as netavark's next rule would take over.
extension NativeDataplane {
  /// The container's complete attachments on networks the request does not name, in this same namespace (not a
  /// dead predecessor's of the same ID).
  func otherAttachments(_ request: NetavarkRequest, namespacePath: String) -> [AttachmentState] {
    // The path as well as the identity: the kernel reuses a dead namespace's inode number.
    guard !namespacePath.isEmpty, let identity = NetworkNamespace.identityText(of: namespacePath) else { return [] }
    let named = Set(request.options.networks.map(\.name))
    return store.states(containerID: request.options.containerID, excluding: named).filter {
      $0.phase == .done && $0.namespacePath == namespacePath && $0.namespaceIdentity == identity
    }
  }

  /// Whether another of the container's networks publishes its ports already (a `network connect`, which passes
  /// them again). Other ports than those are refused: a container's ports are the same on all its networks.
  func publishesElsewhere(_ request: NetavarkRequest, namespacePath: String) throws(NetworkError) -> Bool {
    let carrier = otherAttachments(request, namespacePath: namespacePath).first { $0.publishedPorts != nil }
    guard let carrier, let published = carrier.publishedPorts else { return false }
    guard Set(published.mappings) == Set(request.options.portMappings) else {
      throw NetworkError(
        .invalidArgument,
        "container \(request.options.containerID) publishes its ports through network \(carrier.network) already, and they cannot differ on another network"
      )
    }
    return true
  }

  /// Hands the ports of `leaving` to a bridge network the container stays on: that network's state takes them, and
  /// the forwards move to its addresses. Returns false when there is no such network (or the move failed, which is
  /// logged), and the caller removes the ports as usual.
  func handOverPorts(of leaving: AttachmentState, request: NetavarkRequest, namespacePath: String) -> Bool {
    guard let published = leaving.publishedPorts, !request.options.namespaceWillBeRemoved else { return false }
    let staying = otherAttachments(request, namespacePath: namespacePath).first {
      $0.driver == "bridge" && !$0.addresses.isEmpty
    }
    guard var successor = staying else { return false }
    let moved = PublishedPorts(
      mappings: published.mappings, addresses: successor.addresses.compactMap { IPNetwork($0)?.address })
    guard let old = try? published.forwards(), let new = try? moved.forwards(), !new.isEmpty else { return false }
    // The successor's state first, and the leaving one's without the ports once they moved: a process killed in
    // between leaves the ports with both, which a reload and a later teardown take in order (the forwards that
    // still point at a network are its own; a move already done is no error).
    successor.publishedPorts = moved
    do {
      try store.write(successor)
      try firewall.move(old, to: new)
    } catch {
      successor.publishedPorts = nil
      try? store.write(successor)
      configuration.logger.warning(
        "the ports of container \(leaving.containerID) could not be moved to network \(successor.network), and are removed with network \(leaving.network): \(error)"
      )
      return false
    }
    var left = leaving
    left.publishedPorts = nil
    try? store.write(left)
    return true
  }
}
