import Dispatch
import FoundationEssentials
import OrderedJSON
import SystemSupport

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#endif

/// One attachment as libcni caches it after a successful ADD: enough to tear it down later, even by another
/// runtime (Podman reads and writes the same files).
public struct CachedAttachment: Sendable {
  public var containerID: String
  public var networkName: String
  public var ifName: String
  /// The namespace path, when the writer recorded it (libcni 1.2 and us; Podman 4.3 does not).
  public var netns: String?
  /// The namespace's identity when the attachment was made (``RuntimeConf/netnsIdentity``); only our entries have it.
  public var netnsIdentity: String?
  public var cniArgs: [(key: String, value: String)]
  public var capabilityArgs: [String: JSONValue]
  /// The configuration list the attachment was made with, as bytes.
  public var config: [UInt8]
  /// The final ADD result as stored, not yet interpreted.
  public var resultJSON: JSONValue?
  /// The cache file.
  public var path: String

  /// The container's name, as the runtime passed it in CNI_ARGS (`K8S_POD_NAME`); empty when it passed none.
  public var containerName: String {
    cniArgs.first { $0.key == "K8S_POD_NAME" }?.value ?? ""
  }

  /// The spec version of the cached configuration, used for a result without `cniVersion`.
  public var configVersion: String {
    (try? JSONValue.parse(config))?["cniVersion"]?.stringValue ?? "0.1.0"
  }

  /// The cached result, in the version it was stored in.
  public func result() throws(CNIError) -> CNIResult? {
    guard let resultJSON, resultJSON != .null else { return nil }
    return try CNIResult(json: resultJSON, defaultVersion: configVersion)
  }
}

/// The result cache in libcni's layout: `<directory>/results/<network>-<containerID>-<ifName>`.
struct ResultCache: Sendable {
  static let kind = "cniCacheV1"

  var directory: String

  var resultsDirectory: String { "\(directory)/results" }

  func path(network: String, containerID: String, ifName: String) -> String {
    "\(resultsDirectory)/\(network)-\(containerID)-\(ifName)"
  }

  /// Writes the entry of one attachment; without a result it records an ADD about to run (libcni's readers take a
  /// missing result as none).
  func write(
    network: String, runtime: RuntimeConf, config: [UInt8], result: CNIResult?
  ) throws(CNIError) {
    var object = JSONObject()
    object["kind"] = .string(Self.kind)
    object["containerId"] = .string(runtime.containerID)
    object["config"] = .string(Data(config).base64EncodedString())
    object["ifName"] = .string(runtime.ifName)
    object["networkName"] = .string(network)
    if !runtime.netns.isEmpty { object["netns"] = .string(runtime.netns) }
    if let identity = runtime.netnsIdentity { object["cnetNetnsIdentity"] = .string(identity) }
    if !runtime.args.isEmpty {
      object["cniArgs"] = .array(runtime.args.map { .array([.string($0.key), .string($0.value)]) })
    }
    if !runtime.capabilityArgs.isEmpty {
      var capabilities = JSONObject()
      // Sorted, as Go writes maps, so that the file does not change from run to run.
      for key in runtime.capabilityArgs.keys.sorted() { capabilities[key] = runtime.capabilityArgs[key] }
      object["capabilityArgs"] = .object(capabilities)
    }
    if let result { object["result"] = result.json }
    let target = path(network: network, containerID: runtime.containerID, ifName: runtime.ifName)
    do {
      try makeDirectories(resultsDirectory, mode: 0o700)
      try AtomicFile.write(JSONValue.object(object).serialized(), to: target, mode: 0o600, durable: false)
    } catch {
      throw CNIError(.cacheFailure, message: "failed to write cached result \(target)", details: error.description)
    }
  }

  /// The attachment cached under these names; nil when there is none.
  func read(network: String, containerID: String, ifName: String) throws(CNIError) -> CachedAttachment? {
    try read(path: path(network: network, containerID: containerID, ifName: ifName))
  }

  func read(path: String) throws(CNIError) -> CachedAttachment? {
    guard let data = FileManager.default.contents(atPath: path) else {
      if access(path, F_OK) != 0 && errno == ENOENT { return nil }
      throw CNIError(.cacheFailure, message: "failed to read cached result \(path)")
    }
    func invalid(_ details: String) -> CNIError {
      CNIError(.cacheFailure, message: "invalid cached result \(path)", details: details)
    }
    let value: JSONValue
    do { value = try JSONValue.parse(data) } catch { throw invalid(error.description) }
    guard case .object(let object) = value else { throw invalid("expected an object") }
    guard object["kind"]?.stringValue == Self.kind else {
      throw invalid("unknown kind \(object["kind"]?.jsonString ?? "(none)")")
    }
    var config: [UInt8] = []
    if let encoded = object["config"]?.stringValue {
      guard let decoded = Data(base64Encoded: encoded) else { throw invalid("config is not base64") }
      config = Array(decoded)
    }
    var cniArgs: [(key: String, value: String)] = []
    for pair in object["cniArgs"]?.arrayValue ?? [] {
      guard let elements = pair.arrayValue, elements.count == 2, let key = elements[0].stringValue,
        let argument = elements[1].stringValue
      else { throw invalid("malformed cniArgs") }
      cniArgs.append((key, argument))
    }
    var capabilityArgs: [String: JSONValue] = [:]
    for member in object["capabilityArgs"]?.objectValue ?? JSONObject() { capabilityArgs[member.key] = member.value }
    return CachedAttachment(
      containerID: object["containerId"]?.stringValue ?? "",
      networkName: object["networkName"]?.stringValue ?? "",
      ifName: object["ifName"]?.stringValue ?? "",
      netns: object["netns"]?.stringValue, netnsIdentity: object["cnetNetnsIdentity"]?.stringValue,
      cniArgs: cniArgs, capabilityArgs: capabilityArgs, config: config, resultJSON: object["result"], path: path)
  }

  func delete(network: String, containerID: String, ifName: String) throws(CNIError) {
    let target = path(network: network, containerID: containerID, ifName: ifName)
    if unlink(target) != 0 && errno != ENOENT {
      throw CNIError(
        .cacheFailure, message: "failed to remove cached result \(target)", details: String(cString: strerror(errno)))
    }
  }

  /// The attachments of one container on one network, whatever their interface: found by file name (one directory
  /// listing, no file read but the candidates') and confirmed by content, since names and IDs may contain `-`.
  func attachments(network: String, containerID: String) -> [CachedAttachment] {
    let prefix = "\(network)-\(containerID)-"
    guard let names = try? FileManager.default.contentsOfDirectory(atPath: resultsDirectory) else { return [] }
    return names.filter { $0.hasPrefix(prefix) }.sorted().compactMap { name -> CachedAttachment? in
      guard let attachment = try? read(path: "\(resultsDirectory)/\(name)"),
        attachment.networkName == network && attachment.containerID == containerID
      else { return nil }
      return attachment
    }
  }

  /// Every readable attachment, optionally of one container; identified by the file's content, never its name
  /// (network names and container IDs may both contain `-`).
  func attachments(containerID: String?) -> [CachedAttachment] {
    guard let names = try? FileManager.default.contentsOfDirectory(atPath: resultsDirectory) else { return [] }
    return names.sorted().compactMap { name -> CachedAttachment? in
      if name.hasPrefix(AtomicFile.temporaryPrefix) || name.hasPrefix(".") { return nil }
      guard let attachment = try? read(path: "\(resultsDirectory)/\(name)") else { return nil }
      if let containerID, attachment.containerID != containerID { return nil }
      return attachment
    }
  }
}
