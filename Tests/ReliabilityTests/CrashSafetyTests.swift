import CNIBackend
import ContainerNetworkCore
import Foundation
import SystemSupport
import TestSupport
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// What a writer killed between creating its temp file and renaming it leaves behind, and who sweeps it
/// (issue 8, "Crash safety": no temp file stays behind after the next successful operation).
@Suite struct CrashSafetyTests {
  /// Leaves a temp file as a killed writer would (nobody holds it), aged past the sweeper's grace period.
  static func strandedTemporaryFile(in directory: String, named name: String) throws -> String {
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    let path = "\(directory)/\(AtomicFile.temporaryPrefix)\(name).Ab12Cd"
    #expect(FileManager.default.createFile(atPath: path, contents: Data("{\"half\":".utf8)))
    var times = [timeval(tv_sec: time(nil) - 60, tv_usec: 0), timeval(tv_sec: time(nil) - 60, tv_usec: 0)]
    #expect(utimes(path, &times) == 0)
    return path
  }

  @Test func createAndRemoveSweepTheConfigDirectory() async throws {
    let sandbox = try Sandbox()
    defer { sandbox.remove() }
    let backend = sandbox.backend()
    let first = try Self.strandedTemporaryFile(in: sandbox.configDirectory, named: "a.conflist")
    let network = try await backend.create(Network(name: UniqueName.make("sweep"), dnsEnabled: false))
    #expect(!FileManager.default.fileExists(atPath: first), "create left \(first)")
    let second = try Self.strandedTemporaryFile(in: sandbox.configDirectory, named: "b.conflist")
    try await backend.remove(network.name, force: false)
    #expect(!FileManager.default.fileExists(atPath: second), "rm left \(second)")
  }

  /// A temp file that its writer still holds open (a write in progress in another process) is never swept.
  @Test func aTemporaryFileBeingWrittenIsNotSwept() throws {
    let directory = try TemporaryDirectory(prefix: "cnet-sweep")
    defer { directory.remove() }
    let path = try Self.strandedTemporaryFile(in: directory.path, named: "busy")
    let lock = try FileLock.acquire(path: path)
    #expect(AtomicFile.removeStaleTemporaryFiles(in: directory.path) == 0)
    #expect(FileManager.default.fileExists(atPath: path))
    lock.unlock()
    #expect(AtomicFile.removeStaleTemporaryFiles(in: directory.path) == 1)
    #expect(!FileManager.default.fileExists(atPath: path))
  }

  @Test(.enabled(if: TestEnvironment.canRunRealPlugins, "needs root and the CNI plugins in /usr/lib/cni"))
  func setupAndTeardownSweepTheResultCache() async throws {
    let sandbox = try Sandbox()
    let host = try TestNamespace(prefix: "rsh")
    let container = try TestNamespace(prefix: "rsc")
    defer {
      container.remove()
      host.remove()
      sandbox.remove()
    }
    let backend = sandbox.backend(hostNamespace: host.path)
    let network = try await backend.create(Network(name: UniqueName.make("sweep"), dnsEnabled: false))
    let results = "\(sandbox.cacheDirectory)/results"
    let options = NetworkOptions(
      containerID: randomContainerID(), containerName: "sweep",
      networks: [network.name: PerNetworkOptions(interfaceName: "eth0")])
    let first = try Self.strandedTemporaryFile(in: results, named: "\(network.name)-x-eth0")
    _ = try await backend.setup(namespacePath: container.path, options: options)
    #expect(!FileManager.default.fileExists(atPath: first), "setup left \(first)")
    let second = try Self.strandedTemporaryFile(in: results, named: "\(network.name)-y-eth0")
    try await backend.teardown(namespacePath: container.path, options: options)
    #expect(!FileManager.default.fileExists(atPath: second), "teardown left \(second)")
    try await backend.remove(network.name, force: false)
  }
}
