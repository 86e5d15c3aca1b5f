import ContainerNetworkCore
import NetworkAddress
import OrderedJSON
import Testing

@testable import NativeDataplane

/// The state file is written from a hand-built JSON value (``AttachmentState/json``) and read back with the
/// synthesized decoder: the two must agree on keys, order and absent optionals.
struct AttachmentStateJSONTests {
  @Test(arguments: [true, false])
  func handBuiltJSONIsWhatTheEncoderWrites(withOptionals: Bool) throws {
    let state = AttachmentState(
      phase: .intent, containerID: "0123abcd", containerName: "web \"one\"", network: "net", networkID: "ab12",
      driver: withOptionals ? "bridge" : "macvlan", namespacePath: "/run/netns/c1",
      namespaceIdentity: withOptionals ? "4:4026532" : nil, interfaceName: "eth0",
      hostInterface: withOptionals ? "cn0123456789abc" : nil, bridge: withOptionals ? "podman1" : nil,
      macAddress: "02:00:00:00:00:01", addresses: ["10.0.0.2/24", "fd00::2/64"],
      publishedPorts: withOptionals
        ? PublishedPorts(
          mappings: [
            PortMapping(hostIP: "127.0.0.1", containerPort: 80, hostPort: 8080, range: 2, protocol: "tcp,udp")
          ],
          ipv4: IPAddress("10.0.0.2"), ipv6: nil) : nil)
    #expect(state.json.serialized() == (try JSONValueEncoder().encode(state).serialized()))
  }
}
