import OrderedJSON

/// The CNI specification versions this runtime speaks, and how they compare.
public enum CNIVersion {
  /// Every version this runtime speaks, oldest first.
  public static let supported = ["0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"]

  /// The newest version; what VERSION requests carry.
  public static let current = "1.1.0"

  /// The shape of results in a version: the spec changed it twice.
  public enum Family: Sendable, Hashable {
    /// 0.1.0 and 0.2.0: `ip4` and `ip6` objects.
    case legacy
    /// 0.3.0, 0.3.1 and 0.4.0: `interfaces`, `ips` with `version`, `routes`.
    case v04
    /// 1.0.0 and 1.1.0: `ips` without `version`; 1.1.0 adds interface and route attributes.
    case v1
  }

  /// The result family of `version`, or nil when we do not speak it.
  public static func family(of version: String) -> Family? {
    switch version {
    case "0.1.0", "0.2.0": .legacy
    case "0.3.0", "0.3.1", "0.4.0": .v04
    case "1.0.0", "1.1.0": .v1
    default: nil
    }
  }

  /// Whether `version` is one of ``supported``.
  public static func isSupported(_ version: String) -> Bool { supported.contains(version) }

  /// Numeric components of a dotted version; nil when it is not of the form `X.Y.Z` with numbers.
  static func components(_ version: String) -> [Int]? {
    let parts = version.split(separator: ".", omittingEmptySubsequences: false)
    guard parts.count == 3 else { return nil }
    let numbers = parts.compactMap { Int($0) }
    return numbers.count == 3 ? numbers : nil
  }

  /// Whether `version` is at least `minimum`; false when either does not parse.
  public static func isAtLeast(_ version: String, _ minimum: String) -> Bool {
    guard let lhs = components(version), let rhs = components(minimum) else { return false }
    return lhs.lexicographicallyPrecedes(rhs) == false
  }
}

/// What a plugin answered to VERSION.
public struct PluginVersionInfo: Sendable, Hashable {
  /// The version of the answer itself.
  public var cniVersion: String
  /// The spec versions the plugin accepts in its configuration.
  public var supportedVersions: [String]

  public init(cniVersion: String, supportedVersions: [String]) {
    self.cniVersion = cniVersion
    self.supportedVersions = supportedVersions
  }

  /// Parses a VERSION answer. A 0.1.0-era answer without `supportedVersions` supports its own version only.
  public init(json bytes: some Collection<UInt8>) throws(CNIError) {
    let value: JSONValue
    do { value = try JSONValue.parse(bytes) } catch {
      throw CNIError(.invalidOutput, message: "decoding version info", details: error.description)
    }
    guard case .object(let object) = value else {
      throw CNIError(.invalidOutput, message: "decoding version info", details: "expected an object")
    }
    let version = object["cniVersion"]?.stringValue ?? "0.1.0"
    let versions = object["supportedVersions"]?.arrayValue?.compactMap(\.stringValue)
    self.init(cniVersion: version, supportedVersions: versions ?? [version])
  }
}
