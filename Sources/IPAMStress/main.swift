import ContainerNetworkCore
import NetworkAddress
import NetworkIPAM

#if canImport(Glibc)
  import Glibc
#endif

// An IPAM writer for the kill -9 test (ReliabilityTests): it allocates an address for a new container on one
// network, keeps it, or releases an earlier one, forever, printing `grant ID IP` after each commit. A test kills
// such writers at random instants and then checks that the database is whole and no address is held twice.
//
//   ipam-stress --run-dir DIR --writer N [--subnet CIDR]

func argument(_ name: String) -> String? {
  let arguments = CommandLine.arguments
  guard let index = arguments.firstIndex(of: "--\(name)"), index + 1 < arguments.count else { return nil }
  return arguments[index + 1]
}

func failure(_ message: String) -> Never {
  let line = Array("\(message)\n".utf8)
  _ = line.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
  exit(2)
}

guard let runDirectory = argument("run-dir"), let writer = argument("writer") else {
  failure("usage: ipam-stress --run-dir DIR --writer N [--subnet CIDR]")
}
let subnet = IPNetwork(argument("subnet") ?? "10.66.0.0/16")!
let network = Network(
  name: "stress", driver: "bridge", subnets: [Subnet(subnet: subnet, gateway: subnet.firstHost)],
  ipamOptions: ["driver": "host-local"])
do {
  let ipam = try IPAMDatabase(directory: runDirectory)
  var held: [String] = []
  var generator = SystemRandomNumberGenerator()
  for round in 0... {
    let id = "w\(writer)-\(getpid())-\(round)"
    let granted = try ipam.allocate(containerID: id, requests: [AddressRequest(network: network)]) { granted in
      ContainerRecord(
        containerID: id, containerName: id, namespacePath: "/run/netns/\(id)", shared: "{}",
        networks: ["stress": granted["stress"]!.map(\.description).joined(separator: ",")])
    }
    // One write(2) per line: a kill never leaves half a line, and nothing waits in a buffer.
    let line = Array("grant \(id) \(granted["stress"]![0])\n".utf8)
    _ = line.withUnsafeBytes { write(1, $0.baseAddress, $0.count) }
    held.append(id)
    if held.count > 20 || Bool.random(using: &generator) {
      let victim = held.remove(at: Int.random(in: 0..<held.count, using: &generator))
      try ipam.release(containerID: victim, networks: ["stress"])
    }
  }
} catch {
  failure("ipam-stress: \(error)")
}
