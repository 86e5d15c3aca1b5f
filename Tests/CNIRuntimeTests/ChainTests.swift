import Foundation
import OrderedJSON
import TestSupport
import Testing

@testable import CNIRuntime

/// ADD/DEL/CHECK/GC/STATUS through chains of recording fake plugins.
@Suite struct ChainTests {
  static func list(version: String = "0.4.0", name: String = "net-a", extra: String = "") -> NetworkConfigList {
    try! NetworkConfigList(
      json: """
        {"cniVersion":"\(version)","name":"\(name)",\(extra)"plugins":[
          {"type":"first","capabilities":{"portMappings":true,"ips":true},"custom":{"keep":[1.0,"x"]}},
          {"type":"second","capabilities":{"mac":true}},
          {"type":"third"}]}
        """)
  }

  static let runtime = RuntimeConf(
    containerID: "c0ffee-1", netns: "/run/netns/fake", ifName: "eth0",
    args: [("IgnoreUnknown", "1"), ("K8S_POD_NAME", "web")],
    capabilityArgs: [
      "portMappings": [["hostPort": 8080, "containerPort": 80, "protocol": "tcp"]],
      "mac": "02:00:00:00:00:09",
    ])

  static let result040 = #"{"cniVersion":"0.4.0","ips":[{"version":"4","address":"10.9.0.2/24"}],"dns":{}}"#

  @Test func addRunsTheChainInOrderAndCachesTheFinalResult() async throws {
    try await withFakePlugins { plugins in
      try plugins.installRecorder("first", result: Self.result040)
      // The second plugin answers at 1.0.0 and without cniVersion the third: each is converted/defaulted.
      try plugins.installRecorder("second", result: sampleResult100)
      try plugins.installRecorder("third", result: #"{"ips":[{"version":"4","address":"10.9.0.3/24"}]}"#)
      let config = plugins.config()
      let list = Self.list()
      let result = try await config.addNetworkList(list, Self.runtime)
      #expect(result.cniVersion == "0.4.0")
      #expect(result.ips.map(\.address) == ["10.9.0.3/24"])

      let records = try plugins.records()
      #expect(records.map(\.plugin) == ["first", "second", "third"])
      #expect(records.allSatisfy { $0.command == "ADD" })
      for record in records {
        #expect(record.environment["CNI_CONTAINERID"] == "c0ffee-1")
        #expect(record.environment["CNI_NETNS"] == "/run/netns/fake")
        #expect(record.environment["CNI_IFNAME"] == "eth0")
        #expect(record.environment["CNI_ARGS"] == "IgnoreUnknown=1;K8S_POD_NAME=web")
        #expect(record.environment["CNI_PATH"] == plugins.pluginDirectory)
      }
      #expect(
        records[0].stdin
          == [
            "cniVersion": "0.4.0", "name": "net-a", "type": "first",
            "capabilities": ["portMappings": true, "ips": true], "custom": ["keep": [.number("1.0"), "x"]],
            "runtimeConfig": ["portMappings": [["hostPort": 8080, "containerPort": 80, "protocol": "tcp"]]],
          ])
      #expect(records[1].stdin?["prevResult"] == (try JSONValue.parse(Self.result040)))
      #expect(records[1].stdin?["runtimeConfig"] == ["mac": "02:00:00:00:00:09"])
      // 1.0.0 output of the second plugin reaches the third converted to the list's 0.4.0.
      let prev = try #require(records[2].stdin?["prevResult"])
      #expect(prev["cniVersion"] == "0.4.0")
      #expect(prev["ips"]?.arrayValue?.first?["version"] == "4")
      #expect(records[2].stdin?["runtimeConfig"] == nil)

      let cachePath = "\(plugins.cacheDirectory)/results/net-a-c0ffee-1-eth0"
      let attributes = try FileManager.default.attributesOfItem(atPath: cachePath)
      #expect((attributes[.posixPermissions] as? Int) == 0o600)
      let directoryAttributes = try FileManager.default.attributesOfItem(atPath: "\(plugins.cacheDirectory)/results")
      #expect((directoryAttributes[.posixPermissions] as? Int) == 0o700)
      let cached = try JSONValue.parse(Array(try #require(FileManager.default.contents(atPath: cachePath))))
      #expect(
        cached.objectValue?.keys
          == ["kind", "containerId", "config", "ifName", "networkName", "netns", "cniArgs", "capabilityArgs", "result"])
      #expect(cached["kind"] == "cniCacheV1")
      #expect(cached["containerId"] == "c0ffee-1")
      #expect(cached["networkName"] == "net-a")
      #expect(cached["ifName"] == "eth0")
      #expect(cached["cniArgs"] == [["IgnoreUnknown", "1"], ["K8S_POD_NAME", "web"]])
      #expect(cached["capabilityArgs"]?["mac"] == "02:00:00:00:00:09")
      let storedConfig = try #require(cached["config"]?.stringValue.flatMap { Data(base64Encoded: $0) })
      #expect(Array(storedConfig) == list.bytes)
      #expect(try config.cachedResult(network: "net-a", containerID: "c0ffee-1", ifName: "eth0") == result)
    }
  }

  /// The entry is written before the first plugin and after each one, so that a DEL after any failure (or a kill)
  /// hands the plugins the result so far; the DEL removes it.
  @Test func aFailedAddLeavesThePartialResultForTheDEL() async throws {
    try await withFakePlugins { plugins in
      try plugins.installRecorder("first", result: Self.result040)
      try plugins.installRecorder(
        "second", failOn: ["ADD"], failure: #"{"code":11,"msg":"busy","details":"try later"}"#)
      try plugins.installRecorder("third", result: Self.result040)
      let config = plugins.config()
      do {
        try await config.addNetworkList(Self.list(), Self.runtime)
        Issue.record("expected a failure")
      } catch let error as CNIError {
        #expect(error.description == "cni plugin second failed: busy: try later")
        #expect(error.code == .tryAgainLater)
      }
      #expect(try plugins.records().map(\.plugin) == ["first", "second"])
      let partial = config.cachedAttachments(containerID: nil)
      #expect(partial.count == 1)
      #expect(partial.first?.resultJSON == (try JSONValue.parse(Self.result040)), "the first plugin's result")

      try await config.deleteNetworkList(Self.list(), Self.runtime)
      let deletes = try plugins.records().dropFirst(2)
      #expect(deletes.map(\.plugin) == ["third", "second", "first"])
      #expect(deletes.allSatisfy { $0.stdin?["prevResult"] == (try? JSONValue.parse(Self.result040)) })
      #expect(config.cachedAttachments(containerID: nil).isEmpty)
      #expect(!FileManager.default.fileExists(atPath: "\(plugins.cacheDirectory)/results/net-a-c0ffee-1-eth0"))
    }
  }

  @Test func anAddThatFailsInTheFirstPluginLeavesAnEntryWithoutResult() async throws {
    try await withFakePlugins { plugins in
      try plugins.installRecorder("first", failOn: ["ADD"], failure: #"{"code":11,"msg":"busy"}"#)
      try plugins.installRecorder("second", result: Self.result040)
      try plugins.installRecorder("third", result: Self.result040)
      let config = plugins.config()
      await #expect(throws: CNIError.self) { try await config.addNetworkList(Self.list(), Self.runtime) }
      let intent = config.cachedAttachments(containerID: nil)
      #expect(intent.count == 1 && intent.first?.resultJSON == nil)
      #expect(intent.first?.capabilityArgs == Self.runtime.capabilityArgs, "what DEL needs besides the result")
    }
  }

  /// libcni stops at the first failing DEL; we run them all, so that a broken late plugin cannot keep the earlier
  /// ones from releasing the interface and the address, and report every failure.
  @Test func everyDELRunsAndEveryFailureIsReported() async throws {
    try await withFakePlugins { plugins in
      try plugins.installRecorder("first", result: Self.result040)
      try plugins.installRecorder(
        "second", result: Self.result040, failOn: ["DEL"], failure: #"{"code":11,"msg":"second is busy"}"#)
      try plugins.installRecorder(
        "third", result: Self.result040, failOn: ["DEL"], failure: #"{"code":111,"msg":"third is broken"}"#)
      let config = plugins.config()
      try await config.addNetworkList(Self.list(), Self.runtime)
      do {
        try await config.deleteNetworkList(Self.list(), Self.runtime)
        Issue.record("expected a failure")
      } catch let error as CNIError {
        #expect(error.plugin == "third" && error.code?.rawValue == 111)
        #expect(error.alsoFailed.map(\.plugin) == ["second"])
        #expect(
          error.description == "cni plugin third failed: third is broken; cni plugin second failed: second is busy")
      }
      #expect(try plugins.records().filter { $0.command == "DEL" }.map(\.plugin) == ["third", "second", "first"])
      #expect(config.cachedAttachments(containerID: nil).count == 1, "kept for the retry")
    }
  }

  @Test func anInvalidResultNamesThePlugin() async throws {
    try await withFakePlugins { plugins in
      try plugins.installRecorder("first", result: "garbage")
      try plugins.installRecorder("second", result: Self.result040)
      try plugins.installRecorder("third", result: Self.result040)
      await #expect {
        try await plugins.config().addNetworkList(Self.list(), Self.runtime)
      } throws: { error in
        (error as? CNIError)?.plugin == "first" && "\(error)".contains("cni plugin first returned an invalid result")
      }
    }
  }

  @Test func delRunsInReverseWithTheCachedArgumentsAndResult() async throws {
    try await withFakePlugins { plugins in
      for name in ["first", "second", "third"] { try plugins.installRecorder(name, result: Self.result040) }
      let config = plugins.config()
      try await config.addNetworkList(Self.list(), Self.runtime)
      // The caller knows nothing but the names at teardown: arguments come from the cache.
      let bare = RuntimeConf(containerID: "c0ffee-1", netns: "/run/netns/fake", ifName: "eth0")
      try await config.deleteNetworkList(Self.list(), bare)
      let deletes = try plugins.records().filter { $0.command == "DEL" }
      #expect(deletes.map(\.plugin) == ["third", "second", "first"])
      let expectedPrev = try JSONValue.parse(Self.result040)
      for record in deletes {
        #expect(record.environment["CNI_ARGS"] == "IgnoreUnknown=1;K8S_POD_NAME=web")
        #expect(record.stdin?["prevResult"] == expectedPrev)
      }
      #expect(deletes.last?.stdin?["runtimeConfig"]?["portMappings"] != nil)
      #expect(config.cachedAttachments(containerID: "c0ffee-1").isEmpty)
      // No VERSION probes anywhere in ADD or DEL.
      #expect(try plugins.records().allSatisfy { $0.command != "VERSION" })
    }
  }

  @Test func delWithoutCacheStillRunsAndSucceeds() async throws {
    try await withFakePlugins { plugins in
      for name in ["first", "second", "third"] { try plugins.installRecorder(name) }
      let config = plugins.config()
      try await config.deleteNetworkList(Self.list(), Self.runtime)
      try await config.deleteNetworkList(Self.list(), Self.runtime)
      let deletes = try plugins.records()
      #expect(deletes.count == 6)
      #expect(deletes.allSatisfy { $0.stdin?["prevResult"] == nil })
      #expect(deletes[0].environment["CNI_ARGS"] == "IgnoreUnknown=1;K8S_POD_NAME=web")
    }
  }

  @Test func aFailedDelKeepsTheCache() async throws {
    try await withFakePlugins { plugins in
      try plugins.installRecorder("first", result: Self.result040, failOn: ["DEL"])
      try plugins.installRecorder("second", result: Self.result040)
      try plugins.installRecorder("third", result: Self.result040)
      let config = plugins.config()
      try await config.addNetworkList(Self.list(), Self.runtime)
      await #expect(throws: CNIError.self) { try await config.deleteNetworkList(Self.list(), Self.runtime) }
      #expect(config.cachedAttachments(containerID: "c0ffee-1").count == 1)
    }
  }

  @Test func prevResultOnDelFollowsTheListVersion() async throws {
    try await withFakePlugins { plugins in
      for name in ["first", "second", "third"] { try plugins.installRecorder(name, result: sampleResult100) }
      let config = plugins.config()
      // The list moved from 1.0.0 to 0.4.0 between ADD and DEL: the cached 1.0.0 result is converted.
      try await config.addNetworkList(Self.list(version: "1.0.0"), Self.runtime)
      try await config.deleteNetworkList(Self.list(version: "0.4.0"), Self.runtime)
      let prev = try #require(try plugins.records().last?.stdin?["prevResult"])
      #expect(prev["cniVersion"] == "0.4.0")
      #expect(prev["ips"]?.arrayValue?.first?["version"] == "4")
    }
  }

  @Test func delOfA03ListSendsNoPrevResult() async throws {
    try await withFakePlugins { plugins in
      for name in ["first", "second", "third"] { try plugins.installRecorder(name, result: Self.result040) }
      let config = plugins.config()
      try await config.addNetworkList(Self.list(version: "0.3.1"), Self.runtime)
      try await config.deleteNetworkList(Self.list(version: "0.3.1"), Self.runtime)
      let deletes = try plugins.records().filter { $0.command == "DEL" }
      #expect(deletes.count == 3 && deletes.allSatisfy { $0.stdin?["prevResult"] == nil })
    }
  }

  @Test func checkRunsInOrderWithTheCachedResult() async throws {
    try await withFakePlugins { plugins in
      for name in ["first", "second", "third"] { try plugins.installRecorder(name, result: Self.result040) }
      let config = plugins.config()
      await #expect {
        try await config.checkNetworkList(Self.list(), Self.runtime)
      } throws: { error in
        (error as? CNIError)?.kind == .cacheFailure
      }
      try await config.addNetworkList(Self.list(), Self.runtime)
      try await config.checkNetworkList(Self.list(), Self.runtime)
      let checks = try plugins.records().filter { $0.command == "CHECK" }
      #expect(checks.map(\.plugin) == ["first", "second", "third"])
      #expect(checks.allSatisfy { $0.stdin?["prevResult"] == (try? JSONValue.parse(Self.result040)) })

      // disableCheck: nothing runs.
      try await config.checkNetworkList(Self.list(extra: #""disableCheck":true,"#), Self.runtime)
      #expect(try plugins.records().filter { $0.command == "CHECK" }.count == 3)
    }
  }

  @Test func checkNeeds040() async throws {
    try await withFakePlugins { plugins in
      await #expect {
        try await plugins.config().checkNetworkList(Self.list(version: "0.3.1"), Self.runtime)
      } throws: { error in
        (error as? CNIError)?.kind == .unsupportedOperation
          && "\(error)" == "configuration version \"0.3.1\" does not support the CHECK command"
      }
    }
  }

  @Test func unknownListVersionIsRefusedBeforeRunningAnything() async throws {
    try await withFakePlugins { plugins in
      for name in ["first", "second", "third"] { try plugins.installRecorder(name, result: Self.result040) }
      await #expect {
        try await plugins.config().addNetworkList(Self.list(version: "7.0.0"), Self.runtime)
      } throws: { error in
        (error as? CNIError)?.code == .incompatibleCNIVersion
      }
      #expect(try plugins.records().isEmpty)
    }
  }

  @Test func cniVersionsAreNegotiatedWithEveryPlugin() async throws {
    try await withFakePlugins { plugins in
      try plugins.installRecorder(
        "first", result: sampleResult100,
        versions: #"{"cniVersion":"1.1.0","supportedVersions":["0.4.0","1.0.0","1.1.0"]}"#)
      try plugins.installRecorder("second", result: sampleResult100)
      try plugins.installRecorder(
        "third", result: sampleResult100,
        versions: #"{"cniVersion":"1.1.0","supportedVersions":["0.4.0","1.0.0","1.1.0"]}"#)
      let list = Self.list(version: "0.4.0", extra: #""cniVersions":["0.4.0","1.0.0","1.1.0"],"#)
      let config = plugins.config()
      // "second" stops at 1.0.0, so the chain runs at 1.0.0 although we and the others speak 1.1.0.
      #expect(try await config.effectiveVersion(of: list) == "1.0.0")
      try await config.addNetworkList(list, Self.runtime)
      let records = try plugins.records()
      #expect(records.filter { $0.command == "VERSION" }.count == 3)
      #expect(records.filter { $0.command == "ADD" }.allSatisfy { $0.stdin?["cniVersion"] == "1.0.0" })
    }
  }

  @Test func validateAsksEveryPluginAndReportsCapabilities() async throws {
    try await withFakePlugins { plugins in
      for name in ["first", "second", "third"] { try plugins.installRecorder(name) }
      let config = plugins.config()
      let validation = try await config.validateNetworkList(Self.list(version: "1.0.0"))
      #expect(validation.capabilities == ["portMappings", "ips", "mac"])
      #expect(validation.cniVersion == "1.0.0")
      await #expect {
        try await config.validateNetworkList(Self.list(version: "0.2.0"))
      } throws: { error in
        "\(error)".hasPrefix("plugin first does not support config version \"0.2.0\"")
      }
    }
  }

  @Test func gcDeletesStaleAttachmentsAndSendsValidOnes() async throws {
    try await withFakePlugins { plugins in
      for name in ["first", "second", "third"] { try plugins.installRecorder(name, result: sampleResult100) }
      let config = plugins.config()
      let list = Self.list(version: "1.1.0")
      var keep = Self.runtime
      keep.containerID = "keep-1"
      var stale = Self.runtime
      stale.containerID = "stale-2"
      try await config.addNetworkList(list, keep)
      try await config.addNetworkList(list, stale)
      try await config.gcNetworkList(list, validAttachments: [GCAttachment(containerID: "keep-1", ifName: "eth0")])
      #expect(config.cachedAttachments(containerID: nil).map(\.containerID) == ["keep-1"])
      let records = try plugins.records()
      let deletes = records.filter { $0.command == "DEL" }
      #expect(deletes.count == 3 && deletes.allSatisfy { $0.environment["CNI_CONTAINERID"] == "stale-2" })
      #expect(deletes[0].environment["CNI_NETNS"] == "/run/netns/fake")
      let gcs = records.filter { $0.command == "GC" }
      #expect(gcs.map(\.plugin) == ["first", "second", "third"])
      #expect(gcs[0].stdin?["cni.dev/valid-attachments"] == [["containerID": "keep-1", "ifname": "eth0"]])
      #expect(gcs[0].environment["CNI_CONTAINERID"] == "")

      try await config.gcNetworkList(
        Self.list(version: "1.1.0", extra: #""disableGC":true,"#), validAttachments: [])
      #expect(config.cachedAttachments(containerID: nil).count == 1)
    }
  }

  @Test func statusReportsThePluginCode() async throws {
    try await withFakePlugins { plugins in
      try plugins.installRecorder("first")
      try plugins.installRecorder(
        "second", failOn: ["STATUS"], failure: #"{"cniVersion":"1.1.0","code":50,"msg":"not ready"}"#)
      try plugins.installRecorder("third")
      let config = plugins.config()
      do {
        try await config.getStatusNetworkList(Self.list(version: "1.1.0"))
        Issue.record("expected a failure")
      } catch let error as CNIError {
        #expect(error.code == .pluginNotAvailable)
        #expect(error.description == "cni plugin second failed: not ready")
      }
      // Before 1.1.0 there is no STATUS: nothing runs.
      try await config.getStatusNetworkList(Self.list(version: "1.0.0"))
      #expect(try plugins.records().map(\.command) == ["STATUS", "STATUS"])
    }
  }

  @Test func attachmentsAreReadFromContentNotFileNames() async throws {
    try await withFakePlugins { plugins in
      for name in ["first", "second", "third"] { try plugins.installRecorder(name, result: Self.result040) }
      let config = plugins.config()
      // Dashes everywhere: "a-b" + "c-d" and "a" + "b-c-d" would make the same file name prefix.
      let list = Self.list(name: "a-b")
      var runtime = Self.runtime
      runtime.containerID = "c-d"
      try await config.addNetworkList(list, runtime)
      runtime.ifName = "eth1"
      try await config.addNetworkList(list, runtime)
      let attachments = config.cachedAttachments(containerID: "c-d")
      #expect(attachments.map(\.ifName) == ["eth0", "eth1"])
      #expect(attachments.allSatisfy { $0.networkName == "a-b" && $0.cniArgs.count == 2 })
      #expect(config.cachedAttachments(containerID: "d").isEmpty)
    }
  }

  /// A cache file as Podman 4.3 (libcni 1.1) writes it: map keys sorted, no netns.
  @Test func aPodmanWrittenCacheIsTornDown() async throws {
    try await withFakePlugins { plugins in
      for name in ["first", "second", "third"] { try plugins.installRecorder(name) }
      let list = Self.list()
      let resultsDirectory = "\(plugins.cacheDirectory)/results"
      try FileManager.default.createDirectory(atPath: resultsDirectory, withIntermediateDirectories: true)
      let podmanCache = """
        {"kind":"cniCacheV1","containerId":"57b871e6","config":"\(Data(list.bytes).base64EncodedString())",\
        "ifName":"eth0","networkName":"net-a","cniArgs":[["IgnoreUnknown","1"],["IP","10.231.20.50"]],\
        "capabilityArgs":{"aliases":{"net-a":["web"]},"portMappings":[{"containerPort":80,"hostPort":8080}]},\
        "result":{"cniVersion":"0.4.0","dns":{},"interfaces":[{"mac":"a2:51:31:7c:cd:1f","name":"cni-podman1"}],\
        "ips":[{"address":"10.231.20.50/24","gateway":"10.231.20.1","interface":0,"version":"4"}]}}
        """
      try podmanCache.write(toFile: "\(resultsDirectory)/net-a-57b871e6-eth0", atomically: false, encoding: .utf8)
      let config = plugins.config()
      let attachment = try #require(config.cachedAttachments(containerID: "57b871e6").first)
      #expect(attachment.netns == nil)
      #expect(try attachment.result()?.ips.first?.address == "10.231.20.50/24")
      try await config.deleteNetworkList(
        list, RuntimeConf(containerID: "57b871e6", netns: "/run/netns/gone", ifName: "eth0"))
      let deletes = try plugins.records()
      #expect(deletes.map(\.plugin) == ["third", "second", "first"])
      #expect(deletes[0].environment["CNI_ARGS"] == "IgnoreUnknown=1;IP=10.231.20.50")
      #expect(deletes[2].stdin?["runtimeConfig"] == ["portMappings": [["containerPort": 80, "hostPort": 8080]]])
      #expect(deletes[0].stdin?["prevResult"]?["ips"]?.arrayValue?.first?["interface"] == 0)
      #expect(!FileManager.default.fileExists(atPath: "\(resultsDirectory)/net-a-57b871e6-eth0"))
    }
  }
}
