import Foundation
import TestSupport
import Testing

/// The README's "Using the library" is `Sources/ExampleEngine/main.swift`, built and run here as an engine would run
/// it: it must attach, run its command and leave nothing behind, and the README must quote it word for word.
@Suite struct ExampleEngineTests {
  static let source = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()

  /// The lines between the README-BEGIN and README-END markers of the example.
  static func quotedPart() throws -> String {
    let text = try String(
      contentsOf: source.appendingPathComponent("Sources/ExampleEngine/main.swift"), encoding: .utf8)
    let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
    let begin = try #require(lines.firstIndex { $0.hasSuffix("README-BEGIN") })
    let end = try #require(lines.firstIndex { $0.hasSuffix("README-END") })
    return lines[(begin + 1)..<end].joined(separator: "\n")
  }

  @Test func theREADMEQuotesTheExampleWordForWord() throws {
    let readme = try String(contentsOf: Self.source.appendingPathComponent("README.md"), encoding: .utf8)
    #expect(readme.contains(try Self.quotedPart()), "README.md no longer quotes Sources/ExampleEngine/main.swift")
  }

  @Test(.enabled(if: TestEnvironment.canRunRealPlugins, "needs root and the CNI plugins in /usr/lib/cni"))
  func theExampleAttachesRunsItsCommandAndLeavesNothing() throws {
    let binary = try BuiltProduct.require("example-engine")
    let host = try TestNamespace(prefix: "exh")
    defer { host.remove() }
    let root = try TemporaryDirectory(prefix: "cnet-example")
    defer { root.remove() }
    _ = FileManager.default.createFile(atPath: root.appending("containers.conf"), contents: nil)
    var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("CNET_") }
    environment["CONTAINERS_CONF"] = root.appending("containers.conf")
    environment["CNET_CONFIG_DIR"] = root.appending("config")
    environment["CNET_CACHE_DIR"] = root.appending("cache")
    environment["CNET_HOST_LOCAL_DIR"] = root.appending("ipam")
    environment["CNET_HOST_NETNS"] = host.path
    let before = Set((try? FileManager.default.contentsOfDirectory(atPath: "/run/netns")) ?? [])
    let result = try runCommand([binary], environment: environment, check: false)
    #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
    #expect(result.stdout.contains("eth0: [10.233.70.5/24]\n"), "\(result.stdout)")
    #expect(result.stdout.contains("10.233.70.5/24"), "the command saw its address")
    #expect(result.stdout.hasSuffix("command: exit status 0\n"), "\(result.stdout)")
    let after = Set((try? FileManager.default.contentsOfDirectory(atPath: "/run/netns")) ?? [])
    #expect(after.subtracting(before).filter { $0.hasPrefix("example-") }.isEmpty, "its namespace was removed")
    #expect(try host.run(["ip", "-o", "link", "show", "type", "veth"]).stdout == "")
    let files = (try? FileManager.default.contentsOfDirectory(atPath: root.appending("config"))) ?? []
    #expect(!files.contains("example.conflist"))
  }
}
