import Foundation

/// A named network namespace made with `ip netns add` for one test, deleted by ``remove()``.
///
/// Tests make their own namespaces and never touch the host's network; the unique name keeps parallel tests apart.
public struct TestNamespace: Sendable {
  public let name: String
  public var path: String { "/run/netns/\(name)" }

  public init(prefix: String = "cnt") throws {
    name = UniqueName.make(prefix)
    try runCommand(["ip", "netns", "add", name])
    try runCommand(["ip", "-n", name, "link", "set", "lo", "up"])
  }

  /// Runs a command inside the namespace.
  @discardableResult
  public func run(_ arguments: [String], check: Bool = true) throws -> CommandResult {
    try runCommand(["ip", "netns", "exec", name] + arguments, check: check)
  }

  /// Names of the links in the namespace.
  public func linkNames() throws -> [String] {
    let output = try runCommand(["ip", "-n", name, "-o", "link", "show"]).stdout
    return output.split(separator: "\n").compactMap { line in
      let fields = line.split(separator: ":", maxSplits: 2)
      guard fields.count >= 2 else { return nil }
      return fields[1].trimmingCharacters(in: .whitespaces).split(separator: "@").first.map(String.init)
    }
  }

  public func remove() {
    _ = try? runCommand(["ip", "netns", "delete", name], check: false)
  }
}

/// Creates namespaces, runs `body`, and deletes them even when `body` throws.
public func withTestNamespaces<T>(
  count: Int, prefix: String = "cnt", _ body: ([TestNamespace]) async throws -> T
) async throws -> T {
  var namespaces: [TestNamespace] = []
  defer { namespaces.forEach { $0.remove() } }
  for _ in 0..<count { namespaces.append(try TestNamespace(prefix: prefix)) }
  return try await body(namespaces)
}
