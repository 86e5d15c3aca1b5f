import ContainerNetworkCore
import Foundation
import NetworkAddress
import SystemSupport
import TestSupport
import Testing

@testable import NetavarkBackend

/// How the real dataplane runs netavark, with shell scripts standing in for it: Podman's arguments and stdin,
/// netavark's error text, and timeouts that end the whole process group.
@Suite struct NetavarkProgramTests {
  static func script(_ directory: TemporaryDirectory, _ body: String) throws -> String {
    let path = directory.appending("netavark")
    try "#!/bin/sh\n\(body)\n".write(toFile: path, atomically: true, encoding: .utf8)
    #expect(chmod(path, 0o755) == 0)
    return path
  }

  static let request = NetavarkRequest(
    options: NetworkOptions(containerID: "c1", containerName: "one", networks: ["net": PerNetworkOptions()]),
    networkInfo: ["net": Network(name: "net", id: String(repeating: "a", count: 64), driver: "bridge")])

  @Test func theRequestGoesToStdinWithPodmansArguments() async throws {
    try await withTemporaryDirectory { dir in
      let program = NetavarkProgram(
        netavarkPath: try Self.script(dir, "echo \"$@\" > \(dir.path)/args; cat > \(dir.path)/stdin; echo '{}'"),
        aardvarkPath: "/usr/lib/podman/aardvark-dns", runDirectory: dir.appending("run"))
      #expect(try await program.setup(namespacePath: "/run/netns/x", request: Self.request) == [:])
      let arguments = try String(contentsOfFile: dir.appending("args"), encoding: .utf8)
      #expect(
        arguments
          == "--config \(dir.appending("run")) --rootless=false --aardvark-binary=/usr/lib/podman/aardvark-dns setup /run/netns/x\n"
      )
      #expect(
        Array(try Data(contentsOf: URL(fileURLWithPath: dir.appending("stdin")))) == (try Self.request.encodedJSON()))
    }
  }

  @Test func netavarksOwnErrorTextIsTheMessage() async throws {
    try await withTemporaryDirectory { dir in
      let program = NetavarkProgram(
        netavarkPath: try Self.script(dir, "cat >/dev/null; echo '{\"error\": \"IO error: boom\"}'; exit 1"),
        aardvarkPath: "/bin/false", runDirectory: dir.path)
      let error = await #expect(throws: NetavarkError.self) {
        try await program.setup(namespacePath: "/run/netns/x", request: Self.request)
      }
      #expect(error?.description == "netavark setup: IO error: boom")
      #expect(error?.termination == .exited(1))
    }
  }

  @Test func aHangingNetavarkIsKilledWithItsWholeProcessGroup() async throws {
    try await withTemporaryDirectory { dir in
      let program = NetavarkProgram(
        netavarkPath: try Self.script(dir, "sleep 30 & echo $! > \(dir.path)/child; wait"),
        aardvarkPath: "/bin/false", runDirectory: dir.path, timeout: .milliseconds(300))
      let error = await #expect(throws: NetavarkError.self) {
        try await program.teardown(namespacePath: "/run/netns/x", request: Self.request)
      }
      #expect(error?.message.contains("timed out") == true, "\(String(describing: error))")
      let child = try #require(
        Int32(
          try String(contentsOfFile: dir.appending("child"), encoding: .utf8).trimmingCharacters(
            in: .whitespacesAndNewlines)))
      // The script's own child was in its process group: it is gone (or a zombie awaiting its new parent).
      let gone = await waitUntil {
        let state = (try? String(contentsOfFile: "/proc/\(child)/stat", encoding: .utf8)) ?? ""
        return state.isEmpty || state.contains(") Z ")
      }
      #expect(gone, "sleep \(child) survived the timeout")
    }
  }
}
