import CNIBackend
import CNetShim
import ContainerNetworkCore
import Foundation
import NetworkAddress

// A long-running process that uses the library as an engine would: one backend, many setup/teardown cycles of one
// container on one bridge network. It prints its own open descriptors and resident memory after a warm-up and at
// the end, one `key=value` line each, for scripts/leak-test (which counts links, rules and files around it).
//
//   cnet-soak --cycles N --host-netns PATH --container-netns PATH --config-dir DIR --cache-dir DIR
//             --host-local-dir DIR [--subnet CIDR] [--network NAME] [--report-every N]

func argument(_ name: String) -> String? {
  let arguments = CommandLine.arguments
  guard let index = arguments.firstIndex(of: "--\(name)"), index + 1 < arguments.count else { return nil }
  return arguments[index + 1]
}

func required(_ name: String) -> String {
  guard let value = argument(name) else {
    FileHandle.standardError.write(Data("cnet-soak: missing --\(name)\n".utf8))
    exit(2)
  }
  return value
}

/// Open descriptors of this process, once settled: a finished plugin's pipes are closed a moment after the call
/// returns, so this takes the smallest of a few samples 20 ms apart.
func openDescriptors() -> Int {
  var smallest = Int.max
  for _ in 0..<10 {
    smallest = min(smallest, ((try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []).count)
    usleep(20_000)
  }
  return smallest
}

/// Bytes of heap in use (malloc's count, unlike RSS not blurred by fragmentation or pages kept for reuse).
func heapInUse() -> Int { Int(cnet_heap_in_use()) }

/// Resident set size in KiB, from /proc/self/status.
func residentKiB() -> Int {
  guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return -1 }
  for line in status.split(separator: "\n") where line.hasPrefix("VmRSS:") {
    return Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") ?? -1
  }
  return -1
}

func report(_ label: String, cycle: Int) {
  FileHandle.standardOutput.write(
    Data("\(label) cycle=\(cycle) fds=\(openDescriptors()) rss_kib=\(residentKiB()) heap_bytes=\(heapInUse())\n".utf8))
}

let cycles = Int(argument("cycles") ?? "1000") ?? 1000
let networkName = argument("network") ?? "soak"
let containerNamespace = required("container-netns")
let configuration = CNIBackendConfiguration(
  configDirectory: required("config-dir"), cacheDirectory: required("cache-dir"),
  hostLocalDataDirectory: required("host-local-dir"), hostNamespacePath: required("host-netns"))
let backend = CNINetworkBackend(configuration: configuration)
let warmUp = min(20, cycles)
/// Also report every this many cycles, to show a trend.
let reportEvery = Int(argument("report-every") ?? "0") ?? 0

do {
  var request = Network(name: networkName, dnsEnabled: false)
  if let subnet = argument("subnet"), let network = IPNetwork(subnet) { request.subnets = [Subnet(subnet: network)] }
  _ = try await backend.create(request, options: CreateOptions(returnExisting: true))
  let options = NetworkOptions(
    containerID: String(repeating: "5", count: 64), containerName: "soak",
    portMappings: [PortMapping(hostIP: "", containerPort: 80, hostPort: 18080, range: 1, protocol: "tcp")],
    networks: [networkName: PerNetworkOptions(interfaceName: "eth0")])
  let start = Date()
  for cycle in 1...max(cycles, 1) {
    _ = try await backend.setup(namespacePath: containerNamespace, options: options)
    try await backend.teardown(namespacePath: containerNamespace, options: options)
    if cycle == warmUp { report("warm", cycle: cycle) }
    if reportEvery > 0, cycle.isMultiple(of: reportEvery) { report("at", cycle: cycle) }
  }
  report("end", cycle: cycles)
  print("seconds=\(Int(Date().timeIntervalSince(start)))")
  try await backend.remove(networkName, force: true)
} catch {
  FileHandle.standardError.write(Data("cnet-soak: \(error)\n".utf8))
  exit(1)
}
