// An engine's use of the library, the one the README quotes (ExampleEngineTests holds the two together): pick the
// backend the way cnet does, create a network, make a namespace, attach it with a static IP and a published port,
// run one command in it, and take everything away again.
//
// Run as root. Settings come from containers.conf and the CNET_* variables (NetworkSettings.load), so CI points it
// at temporary directories and a private "host" namespace; it needs nothing else.

import ContainerNetworkCore
import NetworkAddress
import NetworkBackendFactory
import NetworkNamespace

// README-BEGIN
let network = try NetworkBackendFactory.makeBackend(try NetworkSettings.load())
let web = try await network.create(
  Network(name: "example", subnets: [Subnet(subnet: IPNetwork("10.233.70.0/24")!)], dnsEnabled: false),
  options: CreateOptions(returnExisting: true))

let namespace = try NetworkNamespace.create(named: "example-\(UInt32.random(in: 0...UInt32.max))")
let options = NetworkOptions(
  containerID: "0123456789ab", containerName: "example",
  portMappings: [PortMapping(containerPort: 80, hostPort: 8080)],
  networks: [web.name: PerNetworkOptions(staticIPs: [IPAddress("10.233.70.5")!])])
let status = try await network.setup(namespacePath: namespace, options: options)
print("eth0:", status[web.name]!.interfaces["eth0"]!.subnets.map(\.ipnet))  // eth0: [10.233.70.5/24]

let command = try NamespacedProcess.start(
  path: "/bin/ip", arguments: ["ip", "-brief", "-4", "address", "show", "eth0"], environment: [],
  namespacePath: namespace)
let termination = try await command.wait()

try await network.teardown(namespacePath: namespace, options: options)
try NetworkNamespace.remove(at: namespace)
try await network.remove(web.name, force: false)
print("command:", termination)  // command: exit status 0
// README-END
