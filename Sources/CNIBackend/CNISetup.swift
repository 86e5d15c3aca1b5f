import CNIRuntime
import ContainerNetworkCore
import FoundationEssentials
import Logging
import OrderedJSON
import SystemSupport

/// Setup: every planned network attached in order, or none of them (a failure rolls back what was attached).
extension CNINetworkBackend {
  public func setup(namespacePath: String, options: NetworkOptions) async throws -> [String: StatusBlock] {
    runtime.warmUp()
    try namespaces.check(namespacePath, forTeardown: false)
    // lo comes up and the interface names are looked for on a thread of the namespace's own while the plan is made
    // here (lookups, validation, the config lists); both are done before the first plugin runs.
    var named = options.networks
    SetupValidation.assignDefaultInterfaceNames(&named)
    async let inNamespace = namespaces.prepare(namespacePath, interfaces: named.map(\.options.interfaceName))
    var plan = try prepare(namespacePath: namespacePath, options: options)
    let identity = namespaces.identity(of: namespacePath)
    for index in plan.indices { plan[index].runtime.netnsIdentity = identity }
    let present = try await inNamespace
    // Podman holds cni.lock for the whole of a setup: plugins of two setups at once race on what they share on the
    // host (the firewall plugin creating CNI-FORWARD fails with "File exists" when another one just did).
    return try await withLock { [plan] in
      try await attach(plan, present: present, namespacePath: namespacePath, containerID: options.containerID)
    }
  }

  /// The locked part of a setup: stale holders released, existing attachments refused, then every plugin chain.
  private func attach(_ plan: [Attachment], present: [String], namespacePath: String, containerID: String)
    async throws -> [String: StatusBlock]
  {
    try await releaseStaleHolders(of: plan)
    // A rollback runs DEL, and DEL removes whatever the names designate: it must never meet an attachment this call
    // did not make. So an existing one is refused before any plugin runs, never attached over.
    try await refuseExistingAttachments(plan, containerID: containerID)
    if let interface = present.first {
      throw NetworkError.interfaceExists(interface, namespacePath: namespacePath)
    }
    var attached: [Attachment] = []
    var statuses: [String: StatusBlock] = [:]
    for attachment in plan {
      do {
        if Task.isCancelled { throw CNIError(.cancelled, message: "setup was cancelled") }
        let result = try await runtime.addNetworkList(attachment.list, attachment.runtime)
        // From here on the attachment is ours to undo, even if its status cannot be built.
        attached.append(attachment)
        statuses[attachment.network.name] = try Self.statusBlock(
          from: result, namespacePath: namespacePath, ifName: attachment.runtime.ifName)
      } catch {
        // The failing network is undone too: its earlier plugins may have created interfaces, reservations or
        // rules before the failure.
        let undo = attached.last?.network.name == attachment.network.name ? attached : attached + [attachment]
        let rollbackFailures = await rollBack(undo)
        let cancelled = (error as? CNIError)?.kind == .cancelled
        var message =
          cancelled
          ? "setup of container \(containerID) was cancelled on network \(attachment.network.name) and rolled back"
          : "setting up network \(attachment.network.name): \(error)"
        for failure in rollbackFailures {
          message += "; rolling back network \(failure.network) failed: \(failure.error)"
        }
        throw NetworkError(
          cancelled ? .cancelled : .pluginFailed, message, causes: [error] + rollbackFailures.map(\.error))
      }
    }
    // Cache files of setups killed mid-write are swept by the next success (only files no live writer holds).
    AtomicFile.removeStaleTemporaryFiles(in: "\(configuration.cacheDirectory)/results")
    return statuses
  }

  /// Undoes `attachments` in reverse order, every one of them even when some fail; returns the failures, which the
  /// setup's error reports (not logged as well).
  private func rollBack(_ attachments: [Attachment]) async -> [(network: String, error: CNIError)] {
    var failures: [(network: String, error: CNIError)] = []
    for done in attachments.reversed() {
      do {
        try await runtime.deleteNetworkList(done.list, done.runtime)
      } catch {
        failures.append((done.network.name, error))
      }
    }
    return failures
  }

  /// Throws when the container is attached to one of the planned networks already, or was being attached by a
  /// setup that never finished (its entry is recorded before the first plugin runs).
  /// An attachment of the same container that died without a teardown (a restarted container gets a new
  /// namespace) is torn down instead.
  private nonisolated func refuseExistingAttachments(_ plan: [Attachment], containerID: String) async throws {
    for attachment in plan {
      guard
        let existing = runtime.cachedAttachments(network: attachment.network.name, containerID: containerID).first
      else { continue }
      if isStale(existing) {
        try await deleteCached(existing)
        continue
      }
      let state = existing.resultJSON == nil ? "a setup of it was interrupted" : "interface \(existing.ifName)"
      throw NetworkError(
        .alreadyExists,
        "container \(containerID) is already attached to network \(attachment.network.name) (\(state)): tear it down first"
      )
    }
  }

  /// Tears down the containers that died without a teardown and still hold a static address this setup asks for
  /// (host-local keeps `<data dir>/<network>/<ip>` holding the container ID), so that the address is free again.
  private func releaseStaleHolders(of plan: [Attachment]) async throws {
    let dataDirectory = configuration.hostLocalDataDirectory ?? "/var/lib/cni/networks"
    for attachment in plan {
      var requested: [String] = []
      if let ip = attachment.runtime.args.first(where: { $0.key == "IP" })?.value { requested.append(ip) }
      for ip in attachment.runtime.capabilityArgs["ips"]?.arrayValue ?? [] {
        if let text = ip.stringValue { requested.append(String(text.split(separator: "/")[0])) }
      }
      for ip in requested {
        let reservation = "\(dataDirectory)/\(attachment.network.name)/\(ip)"
        guard let contents = try? String(contentsOfFile: reservation, encoding: .utf8),
          let holder = contents.split(whereSeparator: \.isNewline).first.map(String.init)
        else { continue }
        for cached in runtime.cachedAttachments(containerID: holder)
        where cached.networkName == attachment.network.name && isStale(cached) {
          configuration.logger.info(
            "tearing down container \(holder), which died without a teardown and still holds \(ip) on \(attachment.network.name)"
          )
          try await deleteCached(cached)
        }
      }
    }
  }
}
