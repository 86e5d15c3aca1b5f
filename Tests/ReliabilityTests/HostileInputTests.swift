import CNIBackend
import ContainerNetworkCore
import Foundation
import NetworkAddress
import TestSupport
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// Hostile input (issue 8): each case gets a clear error, takes bounded time and memory, and changes nothing on disk
/// or in the kernel. Plugins that misbehave (100 MB of output, endless output, a grandchild holding stdout, death by
/// signal) and plugin types with `/` or `..` are covered by CNIRuntimeTests; see RELIABILITY.md.
@Suite struct HostileInputTests {
  static let hostileNames = [
    "../evil", "..", ".", "a/b", "/etc/passwd", "nul\u{0}byte", String(repeating: "a", count: 10_000), "réseau",
    "сеть", "网络", "emoji😀", "-dash", " space", "new\nline",
  ]

  @Test(arguments: hostileNames)
  func aHostileNetworkNameIsRefusedAndNothingIsWritten(_ name: String) async throws {
    let sandbox = try Sandbox()
    defer { sandbox.remove() }
    let parentBefore = Set(try FileManager.default.contentsOfDirectory(atPath: "/tmp"))
    let backend = sandbox.backend()
    do {
      _ = try await backend.create(Network(name: name, dnsEnabled: false))
      Issue.record("network name \(name.prefix(40).debugDescription) was accepted")
    } catch let error as NetworkError {
      #expect(error.code == .invalidArgument)
      // One clear line, never the whole 10 000 characters back.
      #expect(error.message.contains("invalid"))
      #expect(error.message.utf8.count < 300)
      #expect(!error.message.contains("\n"))
    }
    // Only the lock (taken before the name is looked at) may exist; no config, no temp file, nothing elsewhere.
    #expect(entries(under: sandbox.configDirectory).filter { $0 != "cni.lock" } == [])
    #expect(!FileManager.default.fileExists(atPath: "\(sandbox.cacheDirectory)/results"))
    let parentAfter = Set(try FileManager.default.contentsOfDirectory(atPath: "/tmp"))
    #expect(parentAfter.subtracting(parentBefore).filter { $0.contains("evil") || $0.contains("passwd") } == [])
    #expect(try await backend.list().map(\.name) == ["podman"])
  }

  @Test func aHundredMegabyteConfigFileAndSpecialFilesAreSkippedWithWarnings() async throws {
    let sandbox = try Sandbox()
    defer { sandbox.remove() }
    let logs = LogCapture()
    let backend = sandbox.backend(logger: logs.logger)
    let good = try await backend.create(Network(name: UniqueName.make("good"), dnsEnabled: false))
    // 100 MB: the loader refuses it from its size, before reading a byte. A sparse file has the same size.
    let big = "\(sandbox.configDirectory)/big.conflist"
    let fd = open(big, O_WRONLY | O_CREAT | O_CLOEXEC, 0o644)
    #expect(fd >= 0)
    #expect(ftruncate(fd, 100 << 20) == 0)
    // …and a start that looks like a real config, so a reader that ignored the size would go on reading.
    let head = Array(#"{"cniVersion":"0.4.0","name":"big","plugins":[{"type":"bridge","pad":""#.utf8)
    #expect(head.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) } == head.count)
    close(fd)
    // A FIFO would block a reader forever; a symlink to /dev/zero would never end; a directory cannot be read.
    #expect(mkfifo("\(sandbox.configDirectory)/fifo.conflist", 0o644) == 0)
    #expect(symlink("/dev/zero", "\(sandbox.configDirectory)/zero.conflist") == 0)
    #expect(mkdir("\(sandbox.configDirectory)/dir.conflist", 0o755) == 0)
    let before = entries(under: sandbox.configDirectory).map { ($0, permissions("\(sandbox.configDirectory)/\($0)")) }
    let names = try await backend.list().map(\.name)
    #expect(Set(names) == [good.name, "podman"])
    for file in ["big.conflist", "fifo.conflist", "zero.conflist", "dir.conflist"] {
      #expect(logs.warnings.contains { $0.contains(file) }, "no warning names \(file): \(logs.warnings)")
    }
    let after = entries(under: sandbox.configDirectory).map { ($0, permissions("\(sandbox.configDirectory)/\($0)")) }
    #expect(before.map(\.0) == after.map(\.0))
    var info = stat()
    #expect(stat(big, &info) == 0 && info.st_size == 100 << 20)
  }

  @Test func aDirectoryOfTenThousandFilesIsListedWithAWarningPerBrokenFile() async throws {
    let sandbox = try Sandbox()
    defer { sandbox.remove() }
    let logs = LogCapture()
    // 5 000 valid networks and 5 000 broken files.
    for index in 0..<10_000 {
      let name = String(format: "n%05d", index)
      let text =
        index.isMultiple(of: 2)
        ? #"{"cniVersion":"0.4.0","name":"\#(name)","plugins":[{"type":"bridge","bridge":"b\#(index)"}]}"#
        : #"{"cniVersion":"0.4.0","name":"\#(name)","plugins":["#
      #expect(
        FileManager.default.createFile(atPath: "\(sandbox.configDirectory)/\(name).conflist", contents: Data(text.utf8))
      )
    }
    let backend = sandbox.backend(logger: logs.logger)
    let networks = try await backend.list()
    #expect(networks.count == 5_001)  // and the default network
    #expect(logs.warnings.count == 5_000)
    #expect(logs.warnings.allSatisfy { $0.contains("skipping network config") })
    // A second listing of the unchanged directory reads nothing again and warns no more.
    _ = try await backend.list()
    #expect(logs.warnings.count == 5_000)
  }

  @Test func aNamespacePathThatIsNotANetworkNamespaceIsRefusedAndNothingChanges() async throws {
    let sandbox = try Sandbox()
    defer { sandbox.remove() }
    let backend = sandbox.backend()
    let network = try await backend.create(Network(name: UniqueName.make("nsp"), dnsEnabled: false))
    let regular = sandbox.root.appending("regular-file")
    #expect(FileManager.default.createFile(atPath: regular, contents: Data("x".utf8)))
    let paths = [
      regular, sandbox.root.path, "/dev/null", "/proc/self/ns/pid", "/proc/self/ns/mnt",
      sandbox.root.appending("missing"),
    ]
    for path in paths {
      let options = NetworkOptions(
        containerID: randomContainerID(), containerName: "c",
        networks: [network.name: PerNetworkOptions(interfaceName: "eth0")])
      do {
        _ = try await backend.setup(namespacePath: path, options: options)
        Issue.record("setup accepted \(path)")
      } catch let error as NetworkError {
        #expect(error.code == .invalidArgument, "\(path): \(error)")
        #expect(error.message.contains(path))
      }
    }
    // No plugin ran: no result cache, no reservation, and the config directory is as it was.
    #expect(!FileManager.default.fileExists(atPath: "\(sandbox.cacheDirectory)/results"))
    #expect(entries(under: sandbox.hostLocalDirectory) == [])
    #expect(entries(under: sandbox.configDirectory).sorted() == ["cni.lock", "\(network.name).conflist"].sorted())
    try await backend.remove(network.name, force: false)
  }
}
