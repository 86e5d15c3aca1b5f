import Logging

/// Where the native dataplane keeps its state, which namespace is the host's, and which DNS server it runs.
public struct NativeDataplaneConfiguration: Sendable {
  /// One directory per network holding one state file per container (`<network>/<container ID>.json`); under the
  /// run directory (`/run/containers/networks/cnet-native`), so that it ends with the boot as the links do.
  public var stateDirectory: String
  /// The namespace that holds bridges and host ends of veths; nil for the caller's own (tests use a private one).
  public var hostNamespacePath: String?
  /// The `nft` program that writes the firewall's per-host and per-network objects (Debian's `nftables`).
  public var nftPath: String
  /// The aardvark-dns program that serves names on bridge networks with DNS enabled (found like netavark's, in
  /// `helper_binaries_dir`); nil runs none, and containers then get no names, as with netavark when the program is
  /// missing.
  public var aardvarkPath: String?
  /// aardvark-dns's configuration directory, netavark's `<--config>/aardvark-dns`: one server per directory, so one
  /// per host namespace. nil means `aardvark-dns` beside ``stateDirectory`` (in the run directory).
  public var dnsConfigDirectory: String?
  /// The port aardvark-dns listens on (containers.conf `dns_bind_port`, netavark's `NETAVARK_DNS_PORT`); containers
  /// query port 53, so another port needs a firewall redirect to it.
  public var dnsPort: Int
  /// Whether a teardown may hand work to a kept thread of the pool to overlap it with the backend's: right for an
  /// engine that lives on, not for a command that ends after one call (starting a thread costs more than it saves).
  public var overlapsOnThreads = true
  public var logger: Logger

  public init(
    stateDirectory: String, hostNamespacePath: String? = nil, nftPath: String = "/usr/sbin/nft",
    aardvarkPath: String? = nil, dnsConfigDirectory: String? = nil, dnsPort: Int = 53,
    logger: Logger = Logger(label: "cnet.native")
  ) {
    self.stateDirectory = stateDirectory
    self.hostNamespacePath = hostNamespacePath
    self.nftPath = nftPath
    self.aardvarkPath = aardvarkPath
    self.dnsConfigDirectory = dnsConfigDirectory
    self.dnsPort = dnsPort
    self.logger = logger
  }

  /// ``dnsConfigDirectory``, or its default.
  public var effectiveDNSConfigDirectory: String {
    if let dnsConfigDirectory { return dnsConfigDirectory }
    guard let slash = stateDirectory.lastIndex(of: "/"), slash != stateDirectory.startIndex else {
      return "/aardvark-dns"
    }
    return "\(stateDirectory[..<slash])/aardvark-dns"
  }
}
