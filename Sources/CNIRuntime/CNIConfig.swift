import Logging
import OrderedJSON
import SystemSupport

/// Runs configuration lists against containers: Swift's counterpart of libcni's `CNIConfig`.
///
/// Loading and running a network never probes plugins with VERSION; only a list that offers `cniVersions`, or an
/// explicit ``validateNetworkList(_:)``, asks, and the answers are cached per plugin binary.
public struct CNIConfig: Sendable {
  /// Finds and runs the plugins: the real ``PluginExecutor``, or a fake in tests.
  public var executor: any PluginExecuting
  /// Where results are cached (`<cacheDirectory>/results/…`); libcni's default is `/var/lib/cni`.
  public var cacheDirectory: String

  public init(executor: any PluginExecuting, cacheDirectory: String = "/var/lib/cni") {
    self.executor = executor
    self.cacheDirectory = cacheDirectory
  }

  public init(
    pluginDirectories: [String], cacheDirectory: String = "/var/lib/cni", timeout: Duration = .seconds(120),
    pluginNamespacePath: String? = nil, logger: Logger = Logger(label: "cni-runtime")
  ) {
    self.init(
      executor: PluginExecutor(
        pluginDirectories: pluginDirectories, timeout: timeout, pluginNamespacePath: pluginNamespacePath,
        logger: logger),
      cacheDirectory: cacheDirectory)
  }

  /// Lets the executor prepare for runs that follow soon (``PluginExecuting/warmUp()``).
  public func warmUp() { executor.warmUp() }

  private func cache(for runtime: RuntimeConf) -> ResultCache {
    ResultCache(directory: runtime.cacheDirectory ?? cacheDirectory)
  }

  // MARK: ADD

  /// Runs ADD through the chain in order, each plugin receiving the previous result, and caches the final one.
  ///
  /// Unlike libcni, the cache entry is written before the first plugin runs (without a result) and again after each
  /// plugin with the result so far, so that a DEL after a failure, a cancellation or a SIGKILL at any point hands the
  /// plugins what they need to find their work (the firewall plugin, for one, finds its rules only by the
  /// addresses in prevResult). A failure leaves that partial entry and whatever earlier plugins did in place: the
  /// caller must DEL, which removes both.
  ///
  /// Cancelling the calling task kills the running plugin's process group and throws ``CNIError/Kind/cancelled``.
  @discardableResult
  public func addNetworkList(_ list: NetworkConfigList, _ runtime: RuntimeConf) async throws(CNIError) -> CNIResult {
    let version = try await effectiveVersion(of: list)
    let invocation = PluginInvocation(
      command: .add, containerID: runtime.containerID, netns: runtime.netns, ifName: runtime.ifName,
      cniArgs: try runtime.cniArgsString())
    let resultCache = cache(for: runtime)
    try resultCache.write(network: list.name, runtime: runtime, config: list.bytes, result: nil)
    var previous: CNIResult?
    // What the cache holds: a plugin that passes its prevResult on unchanged (portmap, firewall, tuning) costs no
    // write.
    var recorded: JSONValue?
    for (index, plugin) in list.plugins.enumerated() {
      if index > 0, let previous, previous.json != recorded {
        try resultCache.write(network: list.name, runtime: runtime, config: list.bytes, result: previous)
        recorded = previous.json
      }
      let prevResult = try previous?.converted(to: version).json
      let stdin = plugin.stdin(
        networkName: list.name, cniVersion: version, prevResult: prevResult, capabilityArgs: runtime.capabilityArgs)
      let output = try await executor.execute(
        plugin.type, invocation: invocation, stdin: JSONValue.object(stdin).serialized())
      do throws(CNIError) {
        previous = try CNIResult(data: output, defaultVersion: version)
      } catch {
        var annotated = error
        annotated.plugin = plugin.type
        annotated.message = "cni plugin \(plugin.type) returned an invalid result: \(error.message)"
        annotated.stdout = PluginExecutor.text(output)
        throw annotated
      }
    }
    // The list is never empty, so the loop produced a result.
    let result = previous!
    if result.json != recorded {
      try resultCache.write(network: list.name, runtime: runtime, config: list.bytes, result: result)
    }
    return result
  }

  // MARK: DEL

  /// Runs DEL through the chain in reverse and then removes the cached result.
  ///
  /// The cached CNI_ARGS and capability arguments of the ADD replace `runtime`'s (Podman does the same, so that
  /// e.g. portmap finds its rules), and each plugin receives the cached result as prevResult. With no cache the
  /// chain still runs with `runtime`'s arguments: plugins treat DEL of unknown attachments as success.
  ///
  /// Unlike libcni, which stops at the first failing plugin, every plugin's DEL runs: a broken plugin late in the
  /// chain must not keep the earlier ones from releasing the interface and the address. The failures are thrown
  /// together (the first one's kind, code and plugin; every message), and the cache stays for the retry.
  ///
  /// DEL is cleanup: cancelling the calling task does not stop it (each plugin is still bounded by the timeout), so
  /// that a cancelled or interrupted caller never leaves half an attachment behind.
  ///
  /// - Parameter fallbackResult: the prevResult to send when the cache holds none (a setup killed before its
  ///   result was written), rebuilt by the caller from what else recorded the attachment.
  public func deleteNetworkList(
    _ list: NetworkConfigList, _ runtime: RuntimeConf, fallbackResult: CNIResult? = nil
  ) async throws(CNIError) {
    let version = try await effectiveVersion(of: list)
    let resultCache = cache(for: runtime)
    let cached = try? resultCache.read(network: list.name, containerID: runtime.containerID, ifName: runtime.ifName)
    var effective = runtime
    if let cached {
      effective.args = cached.cniArgs
      effective.capabilityArgs = cached.capabilityArgs
    }
    // libcni sends prevResult on DEL from 0.4.0 on only; earlier versions of the spec did not define it.
    var prevResult: JSONValue?
    if CNIVersion.isAtLeast(version, "0.4.0") {
      prevResult = try? (cached?.result() ?? fallbackResult)?.converted(to: version).json
    }
    let invocation = PluginInvocation(
      command: .del, containerID: runtime.containerID, netns: runtime.netns, ifName: runtime.ifName,
      cniArgs: try effective.cniArgsString())
    var failures: [CNIError] = []
    for plugin in list.plugins.reversed() {
      let stdin = plugin.stdin(
        networkName: list.name, cniVersion: version, prevResult: prevResult,
        capabilityArgs: effective.capabilityArgs)
      do throws(CNIError) {
        _ = try await executor.execute(
          plugin.type, invocation: invocation, stdin: JSONValue.object(stdin).serialized())
      } catch {
        failures.append(error)
      }
    }
    if let combined = CNIError.combining(failures) { throw combined }
    try resultCache.delete(network: list.name, containerID: runtime.containerID, ifName: runtime.ifName)
  }

  // MARK: CHECK

  /// Runs CHECK through the chain in order against the cached result (lists at 0.4.0 and above).
  ///
  /// A list with `disableCheck` passes without running anything. Like DEL, CHECK uses the cached CNI_ARGS and
  /// capability arguments, so that it verifies what ADD set up.
  public func checkNetworkList(_ list: NetworkConfigList, _ runtime: RuntimeConf) async throws(CNIError) {
    let version = try await effectiveVersion(of: list)
    guard CNIVersion.isAtLeast(version, "0.4.0") else {
      throw CNIError(
        .unsupportedOperation, message: "configuration version \"\(version)\" does not support the CHECK command")
    }
    if list.disableCheck { return }
    guard
      let cached = try cache(for: runtime).read(
        network: list.name, containerID: runtime.containerID, ifName: runtime.ifName),
      let result = try cached.result()
    else {
      throw CNIError(
        .cacheFailure,
        message:
          "no cached result for network \"\(list.name)\" container \(runtime.containerID) interface \(runtime.ifName)"
      )
    }
    let prevResult = try result.converted(to: version).json
    var effective = runtime
    effective.args = cached.cniArgs
    effective.capabilityArgs = cached.capabilityArgs
    let invocation = PluginInvocation(
      command: .check, containerID: runtime.containerID, netns: runtime.netns, ifName: runtime.ifName,
      cniArgs: try effective.cniArgsString())
    for plugin in list.plugins {
      let stdin = plugin.stdin(
        networkName: list.name, cniVersion: version, prevResult: prevResult,
        capabilityArgs: effective.capabilityArgs)
      _ = try await executor.execute(plugin.type, invocation: invocation, stdin: JSONValue.object(stdin).serialized())
    }
  }

  // MARK: GC and STATUS

  /// Deletes every cached attachment of this network that is not in `validAttachments`, then, for lists at 1.1.0,
  /// sends GC to each plugin with `cni.dev/valid-attachments`. A list with `disableGC` is left alone.
  ///
  /// Runs everything and then throws the first error, as libcni joins them.
  public func gcNetworkList(_ list: NetworkConfigList, validAttachments: [GCAttachment]) async throws(CNIError) {
    if list.disableGC { return }
    let valid = Set(validAttachments)
    var errors: [CNIError] = []
    for attachment in cachedAttachments(containerID: nil) where attachment.networkName == list.name {
      if valid.contains(GCAttachment(containerID: attachment.containerID, ifName: attachment.ifName)) { continue }
      do throws(CNIError) {
        try await deleteNetworkList(list, RuntimeConf(cached: attachment))
      } catch {
        errors.append(error)
      }
    }
    let version = try await effectiveVersion(of: list)
    if CNIVersion.isAtLeast(version, "1.1.0") {
      let attachments = JSONValue.array(
        validAttachments.map { .object(["containerID": .string($0.containerID), "ifname": .string($0.ifName)]) })
      for plugin in list.plugins {
        var stdin = plugin.stdin(networkName: list.name, cniVersion: version, prevResult: nil, capabilityArgs: [:])
        stdin["cni.dev/valid-attachments"] = attachments
        do throws(CNIError) {
          _ = try await executor.execute(
            plugin.type, invocation: PluginInvocation(command: .gc), stdin: JSONValue.object(stdin).serialized())
        } catch {
          errors.append(error)
        }
      }
    }
    if let first = errors.first { throw first }
  }

  /// Asks each plugin whether it can serve ADD (STATUS, lists at 1.1.0; earlier lists are always ready).
  ///
  /// Throws the first plugin's error; codes 50 and 51 mean "not available".
  public func getStatusNetworkList(_ list: NetworkConfigList) async throws(CNIError) {
    let version = try await effectiveVersion(of: list)
    guard CNIVersion.isAtLeast(version, "1.1.0") else { return }
    for plugin in list.plugins {
      let stdin = plugin.stdin(networkName: list.name, cniVersion: version, prevResult: nil, capabilityArgs: [:])
      _ = try await executor.execute(
        plugin.type, invocation: PluginInvocation(command: .status), stdin: JSONValue.object(stdin).serialized())
    }
  }

  // MARK: Versions and validation

  /// What ``validateNetworkList(_:)`` learned.
  public struct Validation: Sendable, Hashable {
    /// The version the list runs at.
    public var cniVersion: String
    /// Every capability some plugin declares, in chain order without repeats.
    public var capabilities: [String]
  }

  /// Checks that every plugin (and IPAM plugin) exists and supports the list's version, asking each with VERSION.
  public func validateNetworkList(_ list: NetworkConfigList) async throws(CNIError) -> Validation {
    let version = try await effectiveVersion(of: list)
    var capabilities: [String] = []
    for plugin in list.plugins {
      for type in [plugin.type] + (plugin.ipamType.map { [$0] } ?? []) {
        let info = try await executor.versionInfo(type)
        guard info.supportedVersions.contains(version) else {
          throw CNIError(
            .incompatibleVersion, plugin: type, code: .incompatibleCNIVersion,
            message: "plugin \(type) does not support config version \"\(version)\"",
            details: "supported: \(info.supportedVersions.joined(separator: ", "))")
        }
      }
      for capability in plugin.capabilities where !capabilities.contains(capability) {
        capabilities.append(capability)
      }
    }
    return Validation(cniVersion: version, capabilities: capabilities)
  }

  /// The version the list runs at.
  ///
  /// A list with `cniVersions` runs at the highest of them that we and every plugin of the chain support (asking
  /// the plugins with VERSION, cached per binary); libcni takes the highest it supports itself and lets plugins
  /// fail, which we deliberately improve on. Any other list runs at its `cniVersion`, without asking anyone.
  public func effectiveVersion(of list: NetworkConfigList) async throws(CNIError) -> String {
    if list.cniVersions.isEmpty {
      guard CNIVersion.isSupported(list.cniVersion) else {
        throw CNIError(
          .incompatibleVersion, code: .incompatibleCNIVersion,
          message: "unsupported CNI version \"\(list.cniVersion)\" in network \(list.name)",
          details: "supported: \(CNIVersion.supported.joined(separator: ", "))")
      }
      return list.cniVersion
    }
    var candidates = Set(list.cniVersions.filter(CNIVersion.isSupported))
    for plugin in list.plugins {
      let info = try await executor.versionInfo(plugin.type)
      candidates.formIntersection(info.supportedVersions)
    }
    guard let best = CNIVersion.supported.last(where: candidates.contains) else {
      throw CNIError(
        .incompatibleVersion, code: .incompatibleCNIVersion,
        message: "no version in cniVersions of network \(list.name) is supported by every plugin and this runtime",
        details: "offered: \(list.cniVersions.joined(separator: ", "))")
    }
    return best
  }

  // MARK: Cache

  /// The cached attachments, of one container or (nil) of all; read from the files' content.
  public func cachedAttachments(containerID: String?) -> [CachedAttachment] {
    ResultCache(directory: cacheDirectory).attachments(containerID: containerID)
  }

  /// The cached attachments of one container on one network (normally one; a setup in progress or killed counts).
  public func cachedAttachments(network: String, containerID: String) -> [CachedAttachment] {
    ResultCache(directory: cacheDirectory).attachments(network: network, containerID: containerID)
  }

  /// The cache entry of one attachment (libcni's file for these three names, read alone); nil when there is none, it
  /// cannot be read, or it belongs to another attachment whose names join to the same file name (names may hold `-`).
  public func cachedAttachment(network: String, containerID: String, ifName: String) -> CachedAttachment? {
    guard
      let cached = try? ResultCache(directory: cacheDirectory).read(
        network: network, containerID: containerID, ifName: ifName),
      cached.networkName == network && cached.containerID == containerID && cached.ifName == ifName
    else { return nil }
    return cached
  }

  /// The cached ADD result of one attachment, in the version it was stored in; nil when there is none.
  public func cachedResult(network: String, containerID: String, ifName: String) throws(CNIError) -> CNIResult? {
    try ResultCache(directory: cacheDirectory).read(network: network, containerID: containerID, ifName: ifName)?
      .result()
  }
}
