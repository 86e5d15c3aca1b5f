import ContainerNetworkCore
import NetworkAddress
import Testing

@Suite struct ContainerDNSFilesTests {
  static let statuses = [
    "web": StatusBlock(
      interfaces: [
        "eth0": NetInterface(subnets: [NetAddress(ipnet: IPNetwork("10.89.0.5/24")!, gateway: IPAddress("10.89.0.1"))])
      ], dnsServerIPs: [IPAddress("10.89.0.1")!], dnsSearchDomains: ["dns.podman"])
  ]

  @Test(
    "the networks' DNS first, then the host's, loopback resolvers left out",
    arguments: [
      (
        "nameserver 192.0.2.53\nsearch example.org\noptions edns0\n",
        "search dns.podman example.org\nnameserver 10.89.0.1\nnameserver 192.0.2.53\noptions edns0\n"
      ),
      ("nameserver 127.0.0.53\nnameserver ::1\n", "search dns.podman\nnameserver 10.89.0.1\n"),
      ("# comment\n\nnameserver 10.89.0.1\n", "search dns.podman\nnameserver 10.89.0.1\n"),
    ])
  func resolvConf(host: String, expected: String) {
    #expect(ContainerDNSFiles.resolvConf(statuses: Self.statuses, hostResolvConf: host) == expected)
  }

  @Test func hostsNameTheContainersOwnAddresses() {
    let hosts = ContainerDNSFiles.hosts(
      containerName: "client", containerID: "0123456789abcdef", statuses: Self.statuses)
    #expect(
      hosts
        == "127.0.0.1\tlocalhost localhost.localdomain\n::1\tlocalhost localhost.localdomain\n10.89.0.5\tclient 0123456789ab\n"
    )
  }
}
