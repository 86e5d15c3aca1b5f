import NetworkAddress

/// What setup and teardown need of a container's network namespace before the first plugin or dataplane call: the
/// seam that lets a backend's attach logic (ordering, refusals, rollback) run in tests without root.
/// `LinuxContainerNamespaces` (NetworkNamespace) is the real one.
public protocol ContainerNamespaces: Sendable {
  /// Throws ``NetworkError/Code/invalidArgument`` when `path` must not be attached or detached: it does not exist
  /// (for a setup; a teardown of a vanished namespace still releases what was held), it cannot be accessed, or it
  /// is the host's own network namespace.
  func check(_ path: String, forTeardown: Bool) throws(NetworkError)

  /// Brings `lo` up in the network namespace at `path`, as Podman does for every container, and returns those of
  /// `interfaces` that exist there already. Throws when `path` is no network namespace.
  func prepare(_ path: String, interfaces: [String]) async throws(NetworkError) -> [String]

  /// Whether the namespace at `path` no longer exists (its container died, or its engine removed it first).
  func isGone(_ path: String) -> Bool

  /// What tells the namespace at `path` from a later one mounted at the same path (`device:inode`); recorded with
  /// each attachment. nil when it cannot be told.
  func identity(of path: String) -> String?

  /// Runs `body` with the path of a new, empty network namespace holding stand-in links named `interfaces`, and
  /// removes it afterwards: a stand-in for a namespace that is gone, for dataplanes that only tear down inside one.
  func withStandIn<T: Sendable>(
    interfaces: [StandInInterface], under directory: String, _ body: @Sendable (String) async throws -> T
  ) async throws -> T
}

/// An interface of a container whose namespace is gone, as a stand-in namespace recreates it for teardown: its name
/// and the addresses it had (plugins find what to remove from them).
public struct StandInInterface: Hashable, Sendable {
  public var name: String
  public var addresses: [IPNetwork]

  public init(name: String, addresses: [IPNetwork] = []) {
    self.name = name
    self.addresses = addresses
  }
}

extension ContainerNamespaces {
  /// Fakes see every namespace as present.
  public func isGone(_ path: String) -> Bool { false }

  public func identity(of path: String) -> String? { nil }

  /// Whether an attachment made to the namespace at `path`, whose identity was then `recorded`, is stale: the
  /// namespace is gone, or another one is mounted at its path.
  public func isStale(_ path: String, recorded: String?) -> Bool {
    if isGone(path) { return true }
    guard let recorded, let now = identity(of: path) else { return false }
    return recorded != now
  }

  public func withStandIn<T: Sendable>(
    interfaces: [StandInInterface], under directory: String, _ body: @Sendable (String) async throws -> T
  ) async throws -> T {
    throw NetworkError(.notSupported, "this ContainerNamespaces cannot make stand-in namespaces")
  }
}
