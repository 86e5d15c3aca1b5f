import CNIBackend
import CNetShim
import ContainerNetworkCore
import Foundation
import NetworkAddress
import TestSupport
import Testing

/// File modes (issue 8, "Files and privileges"): config files 0644, the cache directory 0700 and its files 0600,
/// lock files never world-writable; and nothing written outside the configured directories.
@Suite struct FileModeTests {
  @Test func configFilesAre0644AndTheLockIsNotWorldWritable() async throws {
    let sandbox = try Sandbox()
    defer { sandbox.remove() }
    let backend = sandbox.backend()
    let network = try await backend.create(Network(name: UniqueName.make("mode"), dnsEnabled: false))
    let file = "\(sandbox.configDirectory)/\(network.name).conflist"
    #expect(permissions(file) == 0o644)
    let lock = CNIBackendConfiguration.podmanLockPath(configDirectory: sandbox.configDirectory)
    let lockMode = try #require(permissions(lock))
    #expect(lockMode & 0o002 == 0, "lock file mode \(String(lockMode, radix: 8)) is world-writable")
    // Nobody else may even read it: a reader can hold a shared lock, and every change would wait for it.
    #expect(lockMode == 0o600, "lock file mode \(String(lockMode, radix: 8))")
    try await backend.remove(network.name, force: false)
  }

  /// A lock file someone made readable to others loses those bits when we take it.
  @Test func anExistingLockIsMadePrivate() async throws {
    let sandbox = try Sandbox()
    defer { sandbox.remove() }
    let lock = CNIBackendConfiguration.podmanLockPath(configDirectory: sandbox.configDirectory)
    _ = FileManager.default.createFile(atPath: lock, contents: nil, attributes: [.posixPermissions: 0o644])
    _ = try await sandbox.backend().create(Network(name: UniqueName.make("mode"), dnsEnabled: false))
    #expect(permissions(lock) == 0o600)
  }

  /// A holder that never lets go (here a shared lock of a reader) makes a change fail after the bounded wait, with
  /// an error that names the lock, instead of hanging without a word.
  @Test func aHeldLockTimesOutWithAnErrorNamingIt() async throws {
    let sandbox = try Sandbox()
    defer { sandbox.remove() }
    let lock = CNIBackendConfiguration.podmanLockPath(configDirectory: sandbox.configDirectory)
    _ = FileManager.default.createFile(atPath: lock, contents: nil, attributes: [.posixPermissions: 0o600])
    let reader = open(lock, O_RDONLY | O_CLOEXEC)
    defer { close(reader) }
    #expect(cnet_ofd_lock(reader, 0) == 0)
    var configuration = sandbox.backend().configuration
    configuration.lockTimeout = .milliseconds(300)
    let backend = CNINetworkBackend(configuration: configuration)
    let error = await #expect(throws: NetworkError.self) {
      _ = try await backend.create(Network(name: UniqueName.make("wait"), dnsEnabled: false))
    }
    #expect(error?.code == .timedOut)
    #expect(
      error?.message == "timed out after 0.3 seconds waiting for the lock \(lock): another process holds it")
    #expect(entries(under: sandbox.configDirectory) == ["cni.lock"], "nothing was written")
  }

  @Test(.enabled(if: TestEnvironment.canRunRealPlugins, "needs root and the CNI plugins in /usr/lib/cni"))
  func theCacheDirectoryIs0700AndItsFiles0600() async throws {
    let sandbox = try Sandbox()
    let host = try TestNamespace(prefix: "rmh")
    let container = try TestNamespace(prefix: "rmc")
    defer {
      container.remove()
      host.remove()
      sandbox.remove()
    }
    let backend = sandbox.backend(hostNamespace: host.path)
    let network = try await backend.create(Network(name: UniqueName.make("mode"), dnsEnabled: false))
    let options = NetworkOptions(
      containerID: randomContainerID(), containerName: "modes",
      networks: [network.name: PerNetworkOptions(interfaceName: "eth0")])
    _ = try await backend.setup(namespacePath: container.path, options: options)
    #expect(permissions(sandbox.cacheDirectory) == 0o700)
    #expect(permissions("\(sandbox.cacheDirectory)/results") == 0o700)
    let files = entries(under: "\(sandbox.cacheDirectory)/results")
    #expect(files.count == 1)
    for file in files {
      #expect(permissions("\(sandbox.cacheDirectory)/results/\(file)") == 0o600, "\(file)")
    }
    try await backend.teardown(namespacePath: container.path, options: options)
    try await backend.remove(network.name, force: false)
  }

  /// Where Podman, libcni and the plugins keep state by default. A run with temp directories must leave no trace
  /// there: no file or directory whose path names our network or container.
  static let defaultLocations = ["/etc/cni", "/var/lib/cni", "/run/cni", "/run/containers/cni", "/var/run/cni"]

  static func traces(of tokens: [String]) -> [String] {
    defaultLocations.flatMap { location in
      entries(under: location).filter { entry in tokens.contains { entry.contains($0) } }.map { "\(location)/\($0)" }
    }
  }

  @Test(.enabled(if: TestEnvironment.canRunRealPlugins, "needs root and the CNI plugins in /usr/lib/cni"))
  func nothingIsWrittenOutsideTheConfiguredDirectories() async throws {
    let sandbox = try Sandbox()
    let host = try TestNamespace(prefix: "rwh")
    let container = try TestNamespace(prefix: "rwc")
    defer {
      container.remove()
      host.remove()
      sandbox.remove()
    }
    let name = UniqueName.make("conf")
    let containerID = randomContainerID()
    let tmpBefore = Set((try? FileManager.default.contentsOfDirectory(atPath: "/tmp")) ?? [])
    let backend = sandbox.backend(hostNamespace: host.path)
    _ = try await backend.create(Network(name: name, dnsEnabled: false))
    let options = NetworkOptions(
      containerID: containerID, containerName: "confined",
      portMappings: [PortMapping(containerPort: 80, hostPort: 18081)],
      networks: [name: PerNetworkOptions(interfaceName: "eth0")])
    _ = try await backend.setup(namespacePath: container.path, options: options)
    // While attached, every trace of the container is in the sandbox.
    #expect(Self.traces(of: [name, containerID]) == [])
    #expect(entries(under: sandbox.hostLocalDirectory).contains { $0.hasPrefix(name) })
    #expect(entries(under: "\(sandbox.cacheDirectory)/results").count == 1)
    try await backend.teardown(namespacePath: container.path, options: options)
    try await backend.remove(name, force: false)
    #expect(Self.traces(of: [name, containerID]) == [])
    // Nothing new in /tmp either that names us (other tests may make their own temp directories meanwhile).
    let tmpAfter = Set((try? FileManager.default.contentsOfDirectory(atPath: "/tmp")) ?? [])
    #expect(tmpAfter.subtracting(tmpBefore).filter { $0.contains(name) || $0.contains(containerID) } == [])
    // And the sandbox holds only the directories we configured.
    #expect(
      Set(entries(under: sandbox.root.path).map { $0.split(separator: "/").first.map(String.init) ?? $0 })
        .isSubset(of: ["config", "cache", "ipam"]))
  }
}
