/// An error from a network backend: a code to branch on and a one-line message a user can act on.
///
/// Messages reuse Podman's wording where Podman users know it, so scripts that match on it keep working.
public struct NetworkError: Error, Hashable, Sendable, CustomStringConvertible {
  /// What kind of failure this is.
  public enum Code: String, Hashable, Sendable {
    /// No network has the given name or ID.
    case notFound
    /// The name is taken, or the container is already attached (to that network, or by that interface name).
    case alreadyExists
    /// An ID prefix matches more than one network.
    case ambiguous
    /// A name, address, option or argument is malformed or not allowed.
    case invalidArgument
    /// A requested or automatic subnet collides with another network or a host address.
    case subnetInUse
    /// No free subnet or interface name is left in the pools.
    case exhausted
    /// The operation is not possible for this network or backend.
    case notSupported
    /// The network still has containers attached.
    case inUse
    /// A plugin or helper program failed.
    case pluginFailed
    /// Reading or writing a file, or a system call, failed.
    case io
    /// The operation was cancelled (the task, or a signal to `cnet`) and what it had done was undone.
    case cancelled
    /// Waiting for a lock or a helper took longer than allowed.
    case timedOut
  }

  public var code: Code
  /// One line for the user.
  public var message: String
  /// The errors below that this one reports, in the order they happened: a plugin's `CNIError` (with its code,
  /// plugin name and details), a `SystemCallError` with its errno, each failure a teardown collected. An engine
  /// branches on these; the message already says what they say. Not part of equality.
  public var causes: [any Error & Sendable]

  public init(_ code: Code, _ message: String, causes: [any Error & Sendable] = []) {
    self.code = code
    self.message = message
    self.causes = causes
  }

  /// The first of ``causes``: what went wrong first.
  public var cause: (any Error & Sendable)? { causes.first }

  public var description: String { message }

  public static func == (left: NetworkError, right: NetworkError) -> Bool {
    left.code == right.code && left.message == right.message
  }

  public func hash(into hasher: inout Hasher) {
    hasher.combine(code)
    hasher.combine(message)
  }

  /// Podman's wording for a lookup miss.
  public static func networkNotFound(_ nameOrID: String) -> NetworkError {
    NetworkError(.notFound, "unable to find network with name or ID \(nameOrID): network not found")
  }

  /// Podman's wording for a duplicate name.
  public static func networkExists(_ name: String) -> NetworkError {
    NetworkError(.alreadyExists, "network name \(name) already used: network already exists")
  }

  /// An interface a setup would create is in the container's namespace already.
  public static func interfaceExists(_ interface: String, namespacePath: String) -> NetworkError {
    NetworkError(
      .alreadyExists,
      "interface \(interface) already exists in network namespace \(namespacePath): choose another interface_name, or tear down the attachment that made it"
    )
  }

  /// Podman's wording for a subnet collision.
  public static func subnetUsed(_ subnet: CustomStringConvertible) -> NetworkError {
    NetworkError(.subnetInUse, "subnet \(subnet) is already used on the host or by another config")
  }

  /// Podman's wording for removing the default network.
  public static func defaultNetworkRemoval(_ name: String) -> NetworkError {
    NetworkError(.notSupported, "default network \(name) cannot be removed")
  }
}
