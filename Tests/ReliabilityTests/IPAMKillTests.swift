import ContainerNetworkCore
import Foundation
import NetworkAddress
import NetworkIPAM
import TestSupport
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// The IPAM database under `kill -9` (issue 14): writers killed at random instants leave it whole, every address
/// held by one container only, and every allocation with its container's record.
@Suite struct IPAMKillTests {
  @Test func writersKilledAtRandomLeaveTheStoreWhole() throws {
    let binary = try BuiltProduct.require("ipam-stress")
    let directory = try TemporaryDirectory(prefix: "cnet-ipam-kill")
    defer { directory.remove() }
    var writers: [Process] = []
    defer {
      for writer in writers where writer.isRunning { kill(writer.processIdentifier, SIGKILL) }
    }
    func start(_ index: Int) throws -> Process {
      let process = Process()
      process.executableURL = URL(fileURLWithPath: binary)
      process.arguments = ["--run-dir", directory.path, "--writer", String(index)]
      process.standardOutput = FileHandle.nullDevice
      try process.run()
      return process
    }
    for index in 0..<4 { writers.append(try start(index)) }
    var generator = SeededGenerator(seed: 14)
    var kills = 0
    let deadline = ContinuousClock.now + .seconds(4)
    while ContinuousClock.now < deadline {
      usleep(UInt32.random(in: 5_000...60_000, using: &generator))
      let victim = Int.random(in: 0..<writers.count, using: &generator)
      kill(writers[victim].processIdentifier, SIGKILL)
      writers[victim].waitUntilExit()
      #expect(writers[victim].terminationReason == .uncaughtSignal, "writer \(victim) ended on its own")
      kills += 1
      writers[victim] = try start(victim)
    }
    for writer in writers {
      kill(writer.processIdentifier, SIGKILL)
      writer.waitUntilExit()
    }
    let ipam = try IPAMDatabase(directory: directory.path)
    #expect(try ipam.consistencyProblems() == [])
    let held = try ipam.allocations(network: "stress")
    #expect(kills > 20 && held.count > 0, "kills: \(kills), addresses held: \(held.count)")
    // Still usable: the next allocation succeeds and gets an address nobody holds.
    let network = Network(
      name: "stress", driver: "bridge",
      subnets: [Subnet(subnet: IPNetwork("10.66.0.0/16")!, gateway: IPAddress("10.66.0.1"))],
      ipamOptions: ["driver": "host-local"])
    let granted = try ipam.allocate(containerID: "after", requests: [AddressRequest(network: network)]) { _ in
      ContainerRecord(
        containerID: "after", containerName: "", namespacePath: "", shared: "{}", networks: ["stress": ""])
    }
    #expect(held[granted["stress"]![0]] == nil)
  }
}
