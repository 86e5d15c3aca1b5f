import ContainerNetworkCore
import Foundation
import NetworkNamespace
import TestSupport
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// The inode of the calling thread's network namespace: equal inodes mean the same namespace.
private func currentNamespaceInode() -> UInt64 {
  var info = stat()
  stat("/proc/thread-self/ns/net", &info)
  return UInt64(info.st_ino)
}

@Suite(.enabled(if: TestEnvironment.canRunPrivileged, "needs root to create network namespaces"))
struct NetworkNamespaceTests {
  @Test func createEnterAndRemove() async throws {
    let path = "\(NetworkNamespace.runDirectory)/\(UniqueName.make("nst"))"
    try NetworkNamespace.create(at: path)
    defer { try? NetworkNamespace.remove(at: path) }
    #expect(NetworkNamespace.isNetworkNamespace(path))

    let outside = currentNamespaceInode()
    // A synchronous closure selects the blocking variant.
    let inside = try { try NetworkNamespace.run(in: path) { currentNamespaceInode() } }()
    #expect(inside != outside)
    #expect(currentNamespaceInode() == outside)

    let insideAsync = try await NetworkNamespace.run(in: path) { currentNamespaceInode() }
    #expect(insideAsync == inside)
    #expect(currentNamespaceInode() == outside)

    try NetworkNamespace.remove(at: path)
    #expect(!FileManager.default.fileExists(atPath: path))
    // Removing twice is fine: teardown paths call it without knowing what is left.
    try NetworkNamespace.remove(at: path)
  }

  @Test func loopbackComesUpAndExistingInterfacesAreReported() async throws {
    let path = "\(NetworkNamespace.runDirectory)/\(UniqueName.make("nst"))"
    try NetworkNamespace.create(at: path)
    defer { try? NetworkNamespace.remove(at: path) }
    let name = String(path.split(separator: "/").last!)
    #expect(try !runCommand(["ip", "-n", name, "link", "show", "lo"]).stdout.contains(",UP"))
    let present = try await LinuxContainerNamespaces().prepare(path, interfaces: ["lo", "eth0"])
    #expect(present == ["lo"])
    #expect(try runCommand(["ip", "-n", name, "link", "show", "lo"]).stdout.contains(",UP"))
  }

  @Test func theHostsOwnNamespaceIsRefusedAndAMissingOneOnlyForSetup() throws {
    let namespaces = LinuxContainerNamespaces(hostNamespacePath: "/proc/1/ns/net")
    for path in ["/proc/self/ns/net", "/proc/thread-self/ns/net"] {
      let error = #expect(throws: NetworkError.self) { try namespaces.check(path, forTeardown: false) }
      #expect(error?.message.contains("is the host's own network namespace") == true)
    }
    #expect(throws: NetworkError.self) { try namespaces.check("/nonexistent/netns", forTeardown: false) }
    try namespaces.check("/nonexistent/netns", forTeardown: true)
  }

  @Test func ordinaryFilesAreNotNamespaces() throws {
    let directory = try TemporaryDirectory()
    defer { directory.remove() }
    let file = directory.appending("plain")
    #expect(FileManager.default.createFile(atPath: file, contents: Data()))
    #expect(!NetworkNamespace.isNetworkNamespace(file))
    #expect(!NetworkNamespace.isNetworkNamespace(directory.appending("missing")))
    #expect(!NetworkNamespace.isNetworkNamespace("/proc/self/ns/uts"))
    let error = #expect(throws: (any Error).self) { try NetworkNamespace.run(in: file) { 1 } }
    #expect("\(error!)".contains(file))
  }

  @Test func failedCreateLeavesNothing() throws {
    let directory = try TemporaryDirectory()
    defer { directory.remove() }
    let path = directory.appending("ns")
    #expect(FileManager.default.createFile(atPath: path, contents: Data()))
    // An existing file is never overwritten.
    #expect(throws: (any Error).self) { try NetworkNamespace.create(at: path) }
    #expect(!NetworkNamespace.isNetworkNamespace(path))
  }
}
