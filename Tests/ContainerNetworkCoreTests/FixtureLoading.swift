import Foundation

/// Fixtures live beside the test sources, so tests read them by path rather than through a resource bundle.
enum Fixtures {
  static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")

  static func data(_ relativePath: String) throws -> Data {
    try Data(contentsOf: directory.appendingPathComponent(relativePath))
  }

  /// Podman 4.3's captured output, in the shared folder beside the repository (present in CI).
  static let podmanReference = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("shared/podman-4.3-reference")
}

/// JSON compared as values, so key order and white space do not matter but every key and value does.
func jsonObject(_ data: Data) throws -> NSObject {
  try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed]) as! NSObject
}
