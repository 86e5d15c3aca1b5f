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
}
