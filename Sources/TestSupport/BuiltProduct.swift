import Foundation
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// Executables of the same build (`cnet`, `cnet-soak`), found next to the running test bundle: SwiftPM puts every
/// product of a build in one directory, and the test executable may sit a few levels inside a bundle there.
public enum BuiltProduct {
  public static func path(_ name: String) -> String? {
    var directories: [URL] = []
    let argument0 = URL(fileURLWithPath: CommandLine.arguments[0]).standardizedFileURL
    directories.append(argument0.deletingLastPathComponent())
    if let executable = Bundle.main.executableURL { directories.append(executable.deletingLastPathComponent()) }
    directories.append(Bundle.main.bundleURL.deletingLastPathComponent())
    directories.append(Bundle.main.bundleURL)
    for url in Array(directories) {
      var parent = url
      for _ in 0..<3 {
        parent = parent.deletingLastPathComponent()
        directories.append(parent)
      }
    }
    for directory in directories {
      let candidate = directory.appendingPathComponent(name).path
      var isDirectory: ObjCBool = false
      if FileManager.default.fileExists(atPath: candidate, isDirectory: &isDirectory), !isDirectory.boolValue,
        access(candidate, X_OK) == 0
      {
        return candidate
      }
    }
    return nil
  }

  /// The product's path, or a recorded test failure that says where it was looked for.
  public static func require(_ name: String) throws -> String {
    guard let path = path(name) else {
      Issue.record(
        "\(name) was not found next to the test bundle (\(CommandLine.arguments[0])); build with --build-tests")
      throw Missing()
    }
    return path
  }

  public struct Missing: Error {}
}
