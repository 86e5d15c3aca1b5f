import CNIRuntime
import ContainerNetworkCore

/// The plan shared by setup and teardown: which networks, with which config lists and runtime arguments.
extension CNINetworkBackend {
  struct Attachment: Sendable {
    var network: Network
    var list: NetworkConfigList
    var runtime: RuntimeConf
  }

  /// Validates `options` and builds, per network, the config list and runtime arguments to run with. The caller has
  /// checked the namespace path (``ContainerNamespaces/check(_:forTeardown:)``).
  func prepare(namespacePath: String, options: NetworkOptions) throws -> [Attachment] {
    var options = options
    SetupValidation.assignDefaultInterfaceNames(&options.networks)
    var networks: [String: Network] = [:]
    var stored: [String: StoredNetwork] = [:]
    // In the caller's order, so that among several unknown networks the first one given is named.
    for index in options.networks.indices {
      let found = try lookup(options.networks[index].name)
      // The caller may name a network by ID; key everything by its name from here on.
      options.networks[index].name = found.network.name
      networks[found.network.name] = found.network
      stored[found.network.name] = found
    }
    try SetupValidation.validate(options, networks: networks)
    var plan: [Attachment] = []
    for entry in options.networks {
      let (name, perNetwork) = (entry.name, entry.options)
      let entry = stored[name]!
      // libcni's cache file is <network>-<container ID>-<interface>: a name the file system refuses would fail the
      // setup after its plugins ran, with nothing recorded to undo them.
      let cacheName = "\(name)-\(options.containerID)-\(perNetwork.interfaceName)"
      if cacheName.utf8.count > 255 {
        throw NetworkError(
          .invalidArgument,
          "container ID \(NameValidation.displayed(options.containerID)) is too long for network \(name): the result cache file name would be \(cacheName.utf8.count) bytes, over the 255 the file system allows"
        )
      }
      let list = try configList(for: entry, staticIPCount: perNetwork.staticIPs.count)
      let runtimeConf = runtimeConfiguration(
        namespacePath: namespacePath, options: options, network: name, perNetwork: perNetwork)
      plan.append(Attachment(network: entry.network, list: list, runtime: runtimeConf))
    }
    return plan
  }
}
