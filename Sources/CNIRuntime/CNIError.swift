/// An error from running CNI plugins or from handling their configuration, results and cache.
///
/// ``description`` reads the way Podman's CNI executor reports plugin failures
/// (`cni plugin bridge failed: <msg>: <details>`), so that messages stay familiar to its users.
public struct CNIError: Error, Sendable, CustomStringConvertible {
  /// What went wrong, at the level a caller may want to react to.
  public enum Kind: Sendable, Hashable {
    /// The plugin ran and failed; ``CNIError/code`` holds its code when it reported one.
    case pluginFailed
    /// No plugin of that type in any plugin directory, or a type that is not a plain file name.
    case pluginNotFound
    /// The plugin could not be started (missing file, permission denied, namespace not enterable, …).
    case execFailed
    /// The plugin ran longer than the executor's timeout and was killed with its process group.
    case timedOut
    /// The calling task was cancelled; the plugin was killed with its process group.
    case cancelled
    /// The plugin succeeded but its output is not a result or version answer we can use.
    case invalidOutput
    /// A configuration list that cannot be used.
    case invalidConfiguration
    /// Runtime arguments that cannot be passed to a plugin (e.g. `=` inside a CNI_ARGS key).
    case invalidArguments
    /// A result or configuration in a CNI version we cannot speak or convert to.
    case incompatibleVersion
    /// The operation is not defined for this configuration's version.
    case unsupportedOperation
    /// Reading or writing the result cache failed.
    case cacheFailure
  }

  /// The well-known error codes of the CNI specification; plugins may use their own from 100 upwards.
  public struct Code: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
    public var rawValue: Int
    public init(rawValue: Int) { self.rawValue = rawValue }

    public static let incompatibleCNIVersion = Code(rawValue: 1)
    public static let unsupportedField = Code(rawValue: 2)
    public static let unknownContainer = Code(rawValue: 3)
    public static let invalidEnvironmentVariables = Code(rawValue: 4)
    public static let ioFailure = Code(rawValue: 5)
    public static let decodingFailure = Code(rawValue: 6)
    public static let invalidNetworkConfig = Code(rawValue: 7)
    public static let tryAgainLater = Code(rawValue: 11)
    public static let pluginNotAvailable = Code(rawValue: 50)
    public static let pluginNotAvailableLimitedConnectivity = Code(rawValue: 51)
    public static let internalError = Code(rawValue: 999)

    public var description: String { String(rawValue) }
  }

  public var kind: Kind
  /// The code from the plugin's error JSON, when there was one.
  public var code: Code?
  /// The plugin `type`, when the error is about one plugin.
  public var plugin: String?
  /// The headline: `cni plugin bridge failed: <msg>` for a plugin's error JSON, or our own explanation.
  public var message: String
  /// The plugin's `details`, or further context such as a decode error; appended to ``description`` after `: `.
  public var details: String?
  /// What the plugin wrote to stdout, possibly truncated.
  public var stdout: String?
  /// What the plugin wrote to stderr, possibly truncated.
  public var stderr: String?
  /// Further failures of the same operation, when it ran on after this one (every plugin's DEL runs).
  public var alsoFailed: [CNIError] = []

  public init(
    _ kind: Kind, plugin: String? = nil, code: Code? = nil, message: String, details: String? = nil,
    stdout: String? = nil, stderr: String? = nil
  ) {
    self.kind = kind
    self.plugin = plugin
    self.code = code
    self.message = message
    self.details = details
    self.stdout = stdout
    self.stderr = stderr
  }

  public var description: String {
    var text = message
    if let details, !details.isEmpty { text += ": \(details)" }
    for other in alsoFailed { text += "; \(other.description)" }
    return text
  }

  /// The first of `failures` with the rest as ``alsoFailed``; nil when there are none.
  public static func combining(_ failures: [CNIError]) -> CNIError? {
    guard var first = failures.first else { return nil }
    first.alsoFailed += failures.dropFirst()
    return first
  }
}
