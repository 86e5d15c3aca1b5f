import ContainerNetworkCore
import Foundation
import NetavarkBackend
import NetworkBackendFactory
import NetworkNamespace

/// The native backend in the library, as an engine embeds it, beside the same backend running the real netavark
/// (the same store and IPAM, the other dataplane) in the same run. The run directory (IPAM database, state files)
/// is on a tmpfs, as /run is on a normal host. Each container gets a fresh namespace made
/// before the clock starts and deleted after it stops: making and deleting namespaces is the engine's work.
func benchmarkNativeCycles(options settings: Options, work: String) async throws {
  guard let host = settings.hostNamespace else {
    FileHandle.standardError.write(Data("cnet-bench: the native figures need --host-netns\n".utf8))
    return
  }
  func backend(_ kind: NetworkSettings.Backend) -> any ContainerNetwork {
    var settings = NetworkSettings()
    settings.backend = kind
    settings.configDirectory = "\(work)/native-library/conf"
    settings.runDirectory = "\(work)/native-library/\(kind.rawValue)-run"
    // Run inside the host namespace (scripts/bench does), the backend needs no thread to reach it, as on a host.
    settings.hostNamespacePath = NetworkNamespace.isCurrent(host) ? nil : host
    settings.logger = quietLogger
    return try! NetworkBackendFactory.makeBackend(settings)
  }
  let native = backend(.native)
  let netavark = backend(.netavark)
  _ = try await native.create(
    Network(name: "bench-lib", dnsEnabled: false), options: CreateOptions())
  let namespace = "\(work)/native-library/netns"
  var serial = 0
  func nextOptions(ports: [PortMapping]) -> NetworkOptions {
    serial += 1
    return NetworkOptions(
      containerID: String(format: "%064x", serial), portMappings: ports,
      networks: ["bench-lib": PerNetworkOptions(interfaceName: "eth0")])
  }
  /// The median of `runs` timings of `timed`, each in a new namespace; `after` runs untimed, before it is deleted.
  func median(
    runs: Int, ports: [PortMapping] = [], _ timed: (NetworkOptions) async throws -> Void,
    after: (NetworkOptions) async throws -> Void = { _ in }
  ) async throws -> Double {
    var samples: [Double] = []
    for _ in 0..<runs {
      try NetworkNamespace.create(at: namespace)
      let attachment = nextOptions(ports: ports)
      let start = now()
      try await timed(attachment)
      samples.append(Double(now() - start) / 1e6)
      try await after(attachment)
      try NetworkNamespace.remove(at: namespace)
      // The kernel destroys a namespace and its links afterwards, on a worker holding the rtnl lock for tens of
      // milliseconds: back to back, the next setup would wait for the last one's cleanup, which an engine starting
      // containers one at a time rarely meets. The research's floors were measured with the same gap.
      try await Task.sleep(for: .milliseconds(60))
    }
    samples.sort()
    return samples[samples.count / 2]
  }
  // Warm-up, netavark first: it deletes the bridge with its last container, and the native backend makes it again.
  _ = try await median(runs: 2) { try await cycle(netavark, $0, namespace: namespace, willBeRemoved: false) }
  _ = try await median(runs: 5) { try await cycle(native, $0, namespace: namespace, willBeRemoved: true) }
  let runs = max(settings.runs * 10, 101)
  let setup = try await median(runs: runs) {
    _ = try await native.setup(namespacePath: namespace, options: $0)
  } after: {
    var removing = $0
    removing.namespaceWillBeRemoved = true
    try await native.teardown(namespacePath: namespace, options: removing)
  }
  let dropped = try await median(runs: runs) { try await cycle(native, $0, namespace: namespace, willBeRemoved: true) }
  let explicit = try await median(runs: max(settings.runs * 2, 21)) {
    try await cycle(native, $0, namespace: namespace, willBeRemoved: false)
  }
  let netavarkCycle = try await median(runs: max(settings.runs, 11)) {
    try await cycle(netavark, $0, namespace: namespace, willBeRemoved: false)
  }
  // Two published ports: the firewall's map elements, added and removed in one nfnetlink batch each.
  let twoPorts = [PortMapping(containerPort: 80, hostPort: 18600), PortMapping(containerPort: 443, hostPort: 18601)]
  let portsDropped = try await median(runs: runs, ports: twoPorts) {
    try await cycle(native, $0, namespace: namespace, willBeRemoved: true)
  }
  let netavarkPortsCycle = try await median(runs: max(settings.runs, 11), ports: twoPorts) {
    try await cycle(netavark, $0, namespace: namespace, willBeRemoved: false)
  }
  try await native.remove("bench-lib", force: true)
  row(
    "native (library)", "setup of one container on an existing bridge", "1", setup,
    target: verdict(setup <= 1.5, "≤ 1.5 ms"))
  row(
    "native (library)", "setup + teardown, the caller deletes the namespace (teardown only takes the veth down)",
    "1", dropped, anchor: "netavark 1.4 cycle", anchorMedian: netavarkCycle, faster: true,
    target: verdict(dropped <= 2 && netavarkCycle / dropped >= 35, "≤ 2 ms and ≥ 35× faster than netavark"))
  row(
    "native (library)", "setup + teardown with the explicit veth delete", "1", explicit,
    anchor: "netavark 1.4 cycle", anchorMedian: netavarkCycle, faster: true)
  row(
    "native (library)", "setup + teardown with two published ports, the caller deletes the namespace", "1",
    portsDropped, anchor: "netavark 1.4 cycle with the same ports", anchorMedian: netavarkPortsCycle, faster: true,
    target: verdict(portsDropped <= 3, "≤ 3 ms"))
}

/// One container's setup and teardown.
private func cycle(
  _ backend: any ContainerNetwork, _ options: NetworkOptions, namespace: String, willBeRemoved: Bool
) async throws {
  _ = try await backend.setup(namespacePath: namespace, options: options)
  var removing = options
  removing.namespaceWillBeRemoved = willBeRemoved
  try await backend.teardown(namespacePath: namespace, options: removing)
}
