import CNIRuntime
import ContainerNetworkCore
import Logging
import SystemSupport

/// Teardown: the planned networks detached in reverse order, each with the config list its setup ran with when the
/// result cache has it.
extension CNINetworkBackend {
  public func teardown(namespacePath: String, options: NetworkOptions) async throws {
    runtime.warmUp()
    try namespaces.check(namespacePath, forTeardown: true)
    let plan = try prepare(namespacePath: namespacePath, options: options)
    // Under cni.lock, as Podman tears down: DELs of two containers at once race on the host's shared rules too.
    try await withLock { try await detach(plan, containerID: options.containerID) }
  }

  private func detach(_ plan: [Attachment], containerID: String) async throws {
    var failures: [(network: String, error: CNIError)] = []
    for attachment in plan.reversed() {
      var list = attachment.list
      // Its own file only: reading every cached attachment cost a file per container on the host.
      let cached = runtime.cachedAttachment(
        network: attachment.network.name, containerID: containerID, ifName: attachment.runtime.ifName)
      if let cached, let cachedList = try? NetworkConfigList(data: cached.config) {
        // The cached config is what ADD ran with: the network file may have changed or gone since. The runtime
        // itself takes the cached CNI_ARGS and capability arguments.
        list = cachedList
      } else {
        configuration.logger.warning(
          "no cached result for container \(containerID) on network \(attachment.network.name) (\(attachment.runtime.ifName)): tearing down with the config on disk"
        )
      }
      do {
        try await runtime.deleteNetworkList(list, attachment.runtime)
      } catch {
        failures.append((attachment.network.name, error))
      }
    }
    if !failures.isEmpty {
      let each = failures.map { "network \($0.network): \($0.error)" }
      throw NetworkError(
        .pluginFailed, "tearing down container \(containerID): " + each.joined(separator: "; "),
        causes: failures.map(\.error))
    }
    AtomicFile.removeStaleTemporaryFiles(in: "\(configuration.cacheDirectory)/results")
  }
}
