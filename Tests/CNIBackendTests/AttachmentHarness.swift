import CNIBackend
import ContainerNetworkCore
import Foundation
import NetworkAddress
import TestSupport
import Testing

/// A private "host" namespace that holds the bridges, veth ends and firewall rules of one test, with its own
/// config, cache and host-local directories. Deleting the namespace at the end removes every link and rule in it.
struct AttachmentHarness {
  let host: TestNamespace
  let sandbox: BackendSandbox
  let backend: CNINetworkBackend
  var containers: [TestNamespace] = []
  private var networkNames: [String] = []

  init(pools: [String] = ["10.231.0.0/16"]) throws {
    host = try TestNamespace(prefix: "cnh")
    do {
      sandbox = try BackendSandbox()
    } catch {
      host.remove()
      throw error
    }
    backend = sandbox.backend(hostNamespace: host.path, pools: pools)
  }

  /// A new container namespace, removed with the harness.
  mutating func container() throws -> TestNamespace {
    let namespace = try TestNamespace(prefix: "cnc")
    containers.append(namespace)
    return namespace
  }

  /// Creates a network with a unique name derived from `prefix` (unique names keep dnsname's state apart).
  mutating func network(_ prefix: String = "net", _ configure: (inout Network) -> Void = { _ in }) async throws
    -> Network
  {
    var request = Network(name: UniqueName.make(prefix))
    configure(&request)
    let network = try await backend.create(request)
    networkNames.append(network.name)
    return network
  }

  func options(
    _ id: String, name: String? = nil, networks: KeyValuePairs<String, PerNetworkOptions>, ports: [PortMapping] = []
  ) -> NetworkOptions {
    NetworkOptions(containerID: id, containerName: name ?? id, portMappings: ports, networks: networks)
  }

  /// Everything a leak check compares: links in the host namespace, firewall rules, files in the cache and in
  /// host-local's directory.
  func footprint() throws -> Footprint {
    let links = try host.linkNames().sorted()
    let rules = try host.run(["iptables-save"]).stdout.split(separator: "\n")
      .filter { !$0.hasPrefix("#") && !$0.hasPrefix(":") }.map(String.init)
    let files = allFiles(under: sandbox.root.appending("cache")) + reservations()
    return Footprint(links: links, rules: rules, files: files.sorted())
  }

  /// host-local's reservation files (one per IP), leaving out its lock and last-reserved bookkeeping.
  func reservations() -> [String] {
    allFiles(under: sandbox.root.appending("ipam")).filter {
      let name = ($0 as NSString).lastPathComponent
      return name != "lock" && !name.hasPrefix("last_reserved_ip")
    }
  }

  /// The result cache's files; the network index (`cnet/`) describes the config directory, not containers.
  func cacheFiles() -> [String] { allFiles(under: sandbox.root.appending("cache")).filter { !$0.hasPrefix("cnet/") } }

  private func allFiles(under path: String) -> [String] {
    guard let enumerator = FileManager.default.enumerator(atPath: path) else { return [] }
    var files: [String] = []
    while let item = enumerator.nextObject() as? String {
      var isDirectory: ObjCBool = false
      if FileManager.default.fileExists(atPath: "\(path)/\(item)", isDirectory: &isDirectory), !isDirectory.boolValue {
        files.append(item)
      }
    }
    return files
  }

  func remove() {
    // dnsname starts dnsmasq in the host namespace; it would outlive the namespace, so stop it first.
    for name in networkNames {
      let directory = "/run/containers/cni/dnsname/\(name)"
      if let pid = try? String(contentsOfFile: "\(directory)/pidfile", encoding: .utf8)
        .trimmingCharacters(in: .whitespacesAndNewlines), let number = Int32(pid)
      {
        kill(number, SIGTERM)
      }
      try? FileManager.default.removeItem(atPath: directory)
    }
    containers.forEach { $0.remove() }
    host.remove()
    sandbox.remove()
  }
}

struct Footprint: Equatable {
  var links: [String]
  var rules: [String]
  var files: [String]
}

extension TestNamespace {
  /// The IPv4 addresses with prefix on `interface` inside the namespace.
  func addresses(_ interface: String, family: String = "inet") throws -> [String] {
    let output = try runCommand(["ip", "-n", name, "-o", "addr", "show", "dev", interface]).stdout
    return output.split(separator: "\n").compactMap { line in
      let fields = line.split(separator: " ")
      guard let index = fields.firstIndex(where: { $0 == Substring(family) }), index + 1 < fields.count else {
        return nil
      }
      return String(fields[index + 1])
    }
  }
}
