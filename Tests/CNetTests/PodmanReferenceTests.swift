import ContainerNetworkCore
import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// `cnet ls` and `cnet inspect` over the very conflists Podman 4.3 wrote, compared byte for byte with what Podman
/// printed for them (../shared/podman-4.3-reference/cni). Each file's modification time is set to the `created`
/// time Podman showed, since that is where both read it from.
@Suite struct PodmanReferenceTests {
  static let reference: String? = {
    let candidates = [
      ProcessInfo.processInfo.environment["CNET_PODMAN_REFERENCE"],
      URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(
        "../../../shared/podman-4.3-reference/cni"
      ).standardizedFileURL.path,
      "/work/shared/podman-4.3-reference/cni",
    ].compactMap { $0 }
    return candidates.first { FileManager.default.fileExists(atPath: "\($0)/ls.txt") }
  }()

  /// The reference folder, or nil after printing why the test has nothing to compare with.
  static func referenceFolder() -> String? {
    guard let reference else {
      print("skipped: podman-4.3-reference/cni is absent (set CNET_PODMAN_REFERENCE to its path)")
      return nil
    }
    return reference
  }

  static func read(_ path: String) throws -> String { try String(contentsOfFile: path, encoding: .utf8) }

  /// A sandbox whose config directory holds Podman's conflists with Podman's `created` times as their mtimes.
  static func withPodmanNetworks(_ body: (CNetSandbox, String) async throws -> Void) async throws {
    guard let reference = referenceFolder() else { return }
    try await withSandbox { cnet in
      let files = try FileManager.default.contentsOfDirectory(atPath: "\(reference)/files")
        .filter { $0.hasSuffix(".conflist") }
      #expect(!files.isEmpty)
      for file in files {
        let name = String(file.dropLast(".conflist".count))
        let target = "\(cnet.configDir)/\(file)"
        try FileManager.default.copyItem(atPath: "\(reference)/files/\(file)", toPath: target)
        let inspect = try #require(
          try JSONSerialization.jsonObject(with: Data(read("\(reference)/inspect/\(name).json").utf8))
            as? [[String: Any]])
        let created = try #require(inspect.first?["created"] as? String)
        let time = try #require(Timestamp(rfc3339: created))
        var times = [
          timespec(tv_sec: Int(time.seconds), tv_nsec: Int(time.nanoseconds)),
          timespec(tv_sec: Int(time.seconds), tv_nsec: Int(time.nanoseconds)),
        ]
        #expect(utimensat(AT_FDCWD, target, &times, 0) == 0)
      }
      try await body(cnet, reference)
    }
  }

  @Test func lsTableMatchesPodman() async throws {
    try await Self.withPodmanNetworks { cnet, reference async throws in
      #expect(try cnet.succeed(["ls"]) == (try Self.read("\(reference)/ls.txt")))
      #expect(try cnet.succeed(["ls", "--no-trunc"]) == (try Self.read("\(reference)/ls-notrunc.txt")))
      #expect(try cnet.succeed(["ls", "-q"]) == (try Self.read("\(reference)/ls-q.txt")))
      #expect(
        try cnet.succeed(["ls", "--filter", "driver=macvlan"]) == (try Self.read("\(reference)/ls-filter-driver.txt")))
      #expect(
        try cnet.succeed(["ls", "--filter", "label=team=net"]) == (try Self.read("\(reference)/ls-filter-label.txt")))
    }
  }

  /// The JSON of ls is Podman's, except the default network's `created`, which is the time of the listing.
  @Test func lsJSONMatchesPodman() async throws {
    try await Self.withPodmanNetworks { cnet, reference async throws in
      let ours = try cnet.succeed(["ls", "--format", "json"])
      let podman = try Self.read("\(reference)/ls.json")
      let createdLine = /"created": "[^"]*"/
      let oursLines = ours.split(separator: "\n").map { $0.replacing(createdLine, with: "\"created\": X") }
      let podmanLines = podman.split(separator: "\n").map { $0.replacing(createdLine, with: "\"created\": X") }
      #expect(oursLines == podmanLines)
      // Every other network's time matches to the nanosecond.
      #expect(ours.contains("\"created\": \"2026-11-29T01:06:05.85205064Z\""))
      #expect(ours.hasSuffix("]\n") && podman.hasSuffix("]\n"))
    }
  }

  @Test func inspectMatchesPodmanForEveryNetwork() async throws {
    try await Self.withPodmanNetworks { cnet, reference async throws in
      let files = try FileManager.default.contentsOfDirectory(atPath: "\(reference)/inspect")
        .filter { $0.hasPrefix("pb-") && $0.hasSuffix(".json") }
      #expect(files.count >= 10)
      for file in files.sorted() {
        let name = String(file.dropLast(".json".count))
        #expect(try cnet.succeed(["inspect", name]) == (try Self.read("\(reference)/inspect/\(file)")), "\(name)")
      }
      #expect(
        try cnet.succeed(["inspect", "pb-auto", "pb-label"])
          == (try Self.read("\(reference)/inspect/multi-pb-auto-pb-label.json")))
    }
  }

  @Test func inspectFormatAndErrorsMatchPodman() async throws {
    try await Self.withPodmanNetworks { cnet, reference async throws in
      #expect(
        try cnet.succeed(["inspect", "--format", "{{.Name}} {{.ID}} {{.Driver}} {{.NetworkInterface}}", "pb-auto"])
          == (try Self.read("\(reference)/inspect/format-pb-auto.txt")))
      // Status files hold stdout, then stderr, then "rc=N".
      func transcript(_ result: CommandResult) -> String { result.stdout + result.stderr + "rc=\(result.status)\n" }
      #expect(
        try transcript(cnet.cnet(["inspect", "nosuchnet"])) == (try Self.read("\(reference)/inspect/nosuchnet.txt")))
      #expect(try transcript(cnet.cnet(["rm", "nosuchnet"])) == (try Self.read("\(reference)/rm-nosuchnet.txt")))
      #expect(try transcript(cnet.cnet(["rm", "podman"])) == (try Self.read("\(reference)/rm-default.txt")))
      #expect(
        try transcript(cnet.cnet(["create", "--subnet", "10.231.99.0/24", "pb-auto"]))
          == (try Self.read("\(reference)/create-duplicate.txt")))
      let exists = try Self.read("\(reference)/exists.txt")
      for network in ["pb-auto", "nosuchnet"] {
        let result = try cnet.cnet(["exists", network])
        #expect(exists.contains("exists \(network) rc=\(result.status)\n"))
      }
      // rm of every pb-* network prints the names in the order given, as Podman did.
      let names = try cnet.succeed(["ls", "-q"]).split(separator: "\n").map(String.init).filter { $0 != "podman" }
      #expect(try transcript(cnet.cnet(["rm"] + names)) == (try Self.read("\(reference)/rm-output.txt")))
    }
  }
}
