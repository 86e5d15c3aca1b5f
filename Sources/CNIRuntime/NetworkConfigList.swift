import OrderedJSON

/// One plugin's configuration inside a list, kept exactly as written.
public struct PluginConfig: Sendable, Hashable {
  /// The plugin binary's name (`type`).
  public var type: String
  /// The whole object as written, including keys this runtime does not interpret.
  public var raw: JSONObject

  /// Wraps a plugin object; it must have a non-empty string `type`.
  public init(_ raw: JSONObject) throws(CNIError) {
    guard let type = raw["type"]?.stringValue, !type.isEmpty else {
      throw CNIError(.invalidConfiguration, message: "error parsing configuration: missing 'type'")
    }
    self.type = type
    self.raw = raw
  }

  /// The capabilities the plugin declares with `true` in `capabilities`, in the order written.
  public var capabilities: [String] {
    guard let object = raw["capabilities"]?.objectValue else { return [] }
    return object.members.filter { $0.value == .bool(true) }.map(\.key)
  }

  /// The `ipam.type`, when the plugin delegates IP allocation.
  public var ipamType: String? { raw["ipam"]?["type"]?.stringValue }

  /// The stdin for one call of this plugin: its own object with the list's `name` and `cniVersion`, the previous
  /// result, and `runtimeConfig` holding exactly the capability arguments the plugin declares.
  ///
  /// As libcni does, `runtimeConfig` is only added when at least one declared capability has an argument, and
  /// then replaces any `runtimeConfig` written in the configuration.
  public func stdin(
    networkName: String, cniVersion: String, prevResult: JSONValue?, capabilityArgs: [String: JSONValue]
  ) -> JSONObject {
    var object = JSONObject()
    object["cniVersion"] = .string(cniVersion)
    object["name"] = .string(networkName)
    for member in raw where member.key != "cniVersion" && member.key != "name" {
      object[member.key] = member.value
    }
    if let prevResult { object["prevResult"] = prevResult }
    var runtimeConfig = JSONObject()
    for capability in capabilities {
      if let value = capabilityArgs[capability] { runtimeConfig[capability] = value }
    }
    if !runtimeConfig.isEmpty { object["runtimeConfig"] = .object(runtimeConfig) }
    return object
  }
}

/// A CNI configuration list (`.conflist`): a named network and the chain of plugins that makes it.
public struct NetworkConfigList: Sendable, Hashable {
  /// The network name.
  public var name: String
  /// The spec version of the list (`cniVersion`); "0.1.0" when absent, as in libcni.
  public var cniVersion: String
  /// The versions the list says it can be used at (`cniVersions`, CNI 1.1); empty when absent.
  public var cniVersions: [String]
  /// Whether CHECK is to be skipped (`disableCheck`).
  public var disableCheck: Bool
  /// Whether GC is to be skipped (`disableGC`).
  public var disableGC: Bool
  /// The chain, in ADD order.
  public var plugins: [PluginConfig]
  /// The list object as written.
  public var raw: JSONObject
  /// The bytes the list was parsed from (what libcni stores in its result cache).
  public var bytes: [UInt8]

  /// Parses a `.conflist`.
  public init(data: some Collection<UInt8>) throws(CNIError) {
    let bytes = Array(data)
    let value: JSONValue
    do { value = try JSONValue.parse(bytes) } catch {
      throw CNIError(.invalidConfiguration, message: "error parsing configuration list", details: error.description)
    }
    guard case .object(let object) = value else {
      throw CNIError(
        .invalidConfiguration, message: "error parsing configuration list",
        details: "expected an object, found \(value.kindName)")
    }
    try self.init(object: object, bytes: bytes)
  }

  /// Parses a `.conflist` given as text.
  public init(json: String) throws(CNIError) {
    try self.init(data: Array(json.utf8))
  }

  /// Builds a list from an object; its serialization becomes ``bytes``.
  public init(object: JSONObject) throws(CNIError) {
    try self.init(object: object, bytes: JSONValue.object(object).serialized())
  }

  private init(object: JSONObject, bytes: [UInt8]) throws(CNIError) {
    func invalid(_ details: String) -> CNIError {
      CNIError(.invalidConfiguration, message: "error parsing configuration list", details: details)
    }
    guard let nameValue = object["name"] else { throw invalid("no name") }
    guard let name = nameValue.stringValue, !name.isEmpty else { throw invalid("invalid name \(nameValue.jsonString)") }
    var version = "0.1.0"
    if let versionValue = object["cniVersion"] {
      guard let text = versionValue.stringValue else {
        throw invalid("invalid cniVersion type \(versionValue.kindName)")
      }
      version = text
    }
    var versions: [String] = []
    if let versionsValue = object["cniVersions"] {
      guard let array = versionsValue.arrayValue else { throw invalid("invalid type for cniVersions") }
      for (index, element) in array.enumerated() {
        guard let text = element.stringValue else { throw invalid("invalid type for cniVersions index \(index)") }
        versions.append(text)
      }
    }
    guard let pluginsValue = object["plugins"] else { throw invalid("no 'plugins' key") }
    guard let pluginArray = pluginsValue.arrayValue else { throw invalid("invalid 'plugins' type") }
    if pluginArray.isEmpty { throw invalid("no plugins in list") }
    var plugins: [PluginConfig] = []
    for (index, element) in pluginArray.enumerated() {
      guard let pluginObject = element.objectValue else { throw invalid("plugin \(index) is not an object") }
      do throws(CNIError) {
        plugins.append(try PluginConfig(pluginObject))
      } catch {
        throw CNIError(
          .invalidConfiguration, message: "error parsing configuration list",
          details: "plugin \(index): missing 'type'")
      }
    }
    self.name = name
    self.cniVersion = version
    self.cniVersions = versions
    self.disableCheck = try Self.flag(object, "disableCheck")
    self.disableGC = try Self.flag(object, "disableGC")
    self.plugins = plugins
    self.raw = object
    self.bytes = bytes
  }

  // libcni accepts booleans and the strings "true"/"false" for these flags.
  private static func flag(_ object: JSONObject, _ key: String) throws(CNIError) -> Bool {
    switch object[key] {
    case nil, .null?: return false
    case .bool(let value)?: return value
    case .string(let text)? where ["true", "1"].contains(text.lowercased()): return true
    case .string(let text)? where ["false", "0", ""].contains(text.lowercased()): return false
    case let value?:
      throw CNIError(
        .invalidConfiguration, message: "error parsing configuration list",
        details: "invalid value \(value.jsonString) for \(key)")
    }
  }

  /// The version to run the list at without asking any plugin: the highest of `cniVersions` we speak, else
  /// `cniVersion` (libcni's choice).
  public var preferredVersion: String {
    cniVersions.filter(CNIVersion.isSupported).max { !CNIVersion.isAtLeast($0, $1) } ?? cniVersion
  }
}
