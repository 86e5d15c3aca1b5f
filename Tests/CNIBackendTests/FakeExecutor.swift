import CNIBackend
import CNIRuntime
import ContainerNetworkCore
import OrderedJSON
import Synchronization

/// An in-process ``PluginExecuting``: every plugin "exists", every call is recorded, and ADD answers like a bridge
/// that took the next address of its network's first range (later plugins pass prevResult on), unless a rule says
/// the call fails.
final class FakeExecutor: PluginExecuting {
  /// One plugin call as the plugin would have seen it.
  struct Call: Sendable, Equatable {
    var plugin: String
    var command: CNICommand
    var network: String
    var containerID: String
    var ifName: String
    /// Whether stdin carried a prevResult.
    var hadPrevResult: Bool
    /// `cni.dev/valid-attachments` of a GC.
    var validAttachments: JSONValue?
  }

  /// Makes calls fail: `plugin` on `command` (optionally only on `network`) with a plugin error of `code`.
  struct Failure: Sendable {
    var plugin: String
    var command: CNICommand
    var network: String?
    var code: Int
  }

  private let state = Mutex<(calls: [Call], failures: [Failure], nextHost: Int)>(([], [], 2))

  init(failing failures: [Failure] = []) {
    state.withLock { $0.failures = failures }
  }

  var calls: [Call] { state.withLock { $0.calls } }

  func fail(_ failure: Failure) { state.withLock { $0.failures.append(failure) } }

  func findPlugin(_ type: String) throws(CNIError) -> String { "/fake/\(type)" }

  func versionInfo(_ type: String) async throws(CNIError) -> PluginVersionInfo {
    PluginVersionInfo(cniVersion: "1.1.0", supportedVersions: CNIVersion.supported)
  }

  func execute(_ type: String, invocation: PluginInvocation, stdin: [UInt8]) async throws(CNIError) -> [UInt8] {
    let config = (try? JSONValue.parse(stdin)) ?? .null
    let network = config["name"]?.stringValue ?? ""
    let prevResult = config["prevResult"]
    let call = Call(
      plugin: type, command: invocation.command, network: network, containerID: invocation.containerID,
      ifName: invocation.ifName, hadPrevResult: prevResult != nil,
      validAttachments: config["cni.dev/valid-attachments"])
    let (failure, host) = state.withLock { state in
      state.calls.append(call)
      let failure = state.failures.first {
        $0.plugin == type && $0.command == invocation.command && ($0.network == nil || $0.network == network)
      }
      defer { if invocation.command == .add && prevResult == nil { state.nextHost += 1 } }
      return (failure, state.nextHost)
    }
    if let failure {
      throw CNIError(
        .pluginFailed, plugin: type, code: CNIError.Code(rawValue: failure.code),
        message: "cni plugin \(type) failed: fake failure \(failure.code)")
    }
    guard invocation.command == .add else { return [] }
    if let prevResult { return prevResult.serialized() }
    // The first plugin: an interface in the container and the next address of the network's first range.
    let firstRange = config["ipam"]?["ranges"]?.arrayValue?.first?.arrayValue?.first
    let subnet = firstRange?["subnet"]?.stringValue ?? "10.0.0.0/24"
    let prefix = subnet.split(separator: ".").prefix(3).joined(separator: ".")
    let length = subnet.split(separator: "/").last ?? "24"
    let result: JSONValue = .object([
      "cniVersion": .string(config["cniVersion"]?.stringValue ?? "1.0.0"),
      "interfaces": .array([
        .object([
          "name": .string(invocation.ifName), "mac": .string("02:00:00:00:00:0\(host % 10)"),
          "sandbox": .string(invocation.netns),
        ])
      ]),
      "ips": .array([.object(["address": .string("\(prefix).\(host)/\(length)"), "interface": .integer(0)])]),
    ])
    return result.serialized()
  }
}

/// A ``ContainerNamespaces`` that accepts every path and reports `existing` interfaces as present in all of them.
struct FakeNamespaces: ContainerNamespaces {
  var existing: [String] = []

  func check(_ path: String, forTeardown: Bool) throws(NetworkError) {}

  func prepare(_ path: String, interfaces: [String]) async throws(NetworkError) -> [String] {
    interfaces.filter(existing.contains)
  }
}

extension BackendSandbox {
  /// A backend whose plugins and namespaces are fakes: setup and teardown without root.
  func fakeBackend(_ executor: FakeExecutor, namespaces: FakeNamespaces = FakeNamespaces()) -> CNINetworkBackend {
    var configuration = configuration()
    configuration.pluginExecutor = executor
    configuration.namespaces = namespaces
    return CNINetworkBackend(configuration: configuration)
  }
}
