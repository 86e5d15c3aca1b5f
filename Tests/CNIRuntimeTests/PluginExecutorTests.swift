import Foundation
import Logging
import OrderedJSON
import SystemSupport
import TestSupport
import Testing

@testable import CNIRuntime

@Suite struct PluginLookupTests {
  @Test func firstRegularFileWinsAndDirectoriesAreSkipped() throws {
    let root = try TemporaryDirectory(prefix: "cni-lookup")
    defer { root.remove() }
    let first = root.appending("a")
    let second = root.appending("b")
    let third = root.appending("c")
    for directory in [first, second, third] {
      try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }
    // A directory named like the plugin in the first entry must not shadow the file in the second.
    try FileManager.default.createDirectory(atPath: "\(first)/bridge", withIntermediateDirectories: true)
    try "x".write(toFile: "\(second)/bridge", atomically: false, encoding: .utf8)
    try "y".write(toFile: "\(third)/bridge", atomically: false, encoding: .utf8)
    let executor = PluginExecutor(pluginDirectories: [first, second, third])
    #expect(try executor.findPlugin("bridge") == "\(second)/bridge")
  }

  @Test(arguments: ["../bridge", "a/b", "/usr/lib/cni/bridge", "", ".."])
  func typesThatAreNotFileNamesAreRejected(type: String) {
    let executor = PluginExecutor(pluginDirectories: ["/usr/lib/cni"])
    #expect {
      try executor.findPlugin(type)
    } throws: { error in
      (error as? CNIError)?.kind == .pluginNotFound && "\(error)".contains("invalid plugin name")
    }
  }

  @Test func aMissNamesThePluginAndEveryDirectory() {
    let executor = PluginExecutor(pluginDirectories: ["/nonexistent/one", "/nonexistent/two"])
    #expect {
      try executor.findPlugin("nosuchplugin")
    } throws: { error in
      "\(error)" == "failed to find plugin \"nosuchplugin\" in path [/nonexistent/one /nonexistent/two]"
    }
  }
}

@Suite struct PluginExecutionTests {
  @Test func environmentOverridesInheritedCNIVariablesAndPassesTheRestThrough() {
    let executor = PluginExecutor(pluginDirectories: ["/a", "/b"])
    let invocation = PluginInvocation(
      command: .add, containerID: "c1", netns: "/run/netns/x", ifName: "eth0", cniArgs: "IgnoreUnknown=1")
    let environment = executor.environment(
      for: invocation, inherited: ["PATH=/usr/bin", "CNI_COMMAND=DEL", "CNI_NETNS=/old", "HOME=/root", "CNI_PATHX=1"])
    #expect(
      environment == [
        "PATH=/usr/bin", "HOME=/root", "CNI_PATHX=1", "CNI_COMMAND=ADD", "CNI_CONTAINERID=c1",
        "CNI_NETNS=/run/netns/x", "CNI_IFNAME=eth0", "CNI_ARGS=IgnoreUnknown=1", "CNI_PATH=/a:/b",
      ])
  }

  /// Every run below also blocks the calling thread instead of a pooled one (`PluginWaiting`, as `cnet` runs).
  @Test(arguments: [false, true])
  func pluginReceivesEnvironmentAndStdin(blocksCallingThread: Bool) async throws {
    try await runs(blocking: blocksCallingThread) { try await Self().receivesEnvironmentAndStdin() }
  }

  func receivesEnvironmentAndStdin() async throws {
    try await withFakePlugins { plugins in
      try plugins.installRecorder("rec", result: "{}")
      let invocation = PluginInvocation(
        command: .add, containerID: "cid", netns: "/run/netns/n", ifName: "eth3", cniArgs: "A=1;B=2")
      _ = try await plugins.executor().execute("rec", invocation: invocation, stdin: Array(#"{"k":1}"#.utf8))
      let record = try #require(try plugins.records().first)
      #expect(record.environment["CNI_COMMAND"] == "ADD")
      #expect(record.environment["CNI_CONTAINERID"] == "cid")
      #expect(record.environment["CNI_NETNS"] == "/run/netns/n")
      #expect(record.environment["CNI_IFNAME"] == "eth3")
      #expect(record.environment["CNI_ARGS"] == "A=1;B=2")
      #expect(record.environment["CNI_PATH"] == plugins.pluginDirectory)
      #expect(record.environment["PATH"] == ProcessInfo.processInfo.environment["PATH"])
      #expect(record.stdin == ["k": 1])
    }
  }

  /// Each case: script body, expected description, expected plugin code.
  static let failures: [(String, String, Int?)] = [
    (
      #"printf '%s' '{"cniVersion":"1.0.0","code":7,"msg":"bad config","details":"no bridge"}'; exit 1"#,
      "cni plugin p failed: bad config: no bridge", 7
    ),
    (#"printf '%s' '{"code":11}'; exit 1"#, "cni plugin p failed: error code 11", 11),
    (#"printf '%s' '{"code":999,"msg":"internal"}'; exit 2"#, "cni plugin p failed: internal", 999),
    (
      "echo 'not json at all'; exit 1",
      "cni plugin p failed but error parsing its diagnostic message \"not json at all\": "
        + "invalid character 'o' in literal null (expecting 'u')", nil
    ),
    ("echo 'it broke' >&2; exit 1", "cni plugin p failed: it broke", nil),
    ("exit 3", "cni plugin p failed with no error message: exit status 3", nil),
    ("kill -9 $$", "cni plugin p failed with no error message: signal: killed", nil),
  ]

  @Test(arguments: 0..<failures.count, [false, true])
  func failuresAreReportedLikePodman(index: Int, blocksCallingThread: Bool) async throws {
    try await runs(blocking: blocksCallingThread) { try await Self().failureIsReportedLikePodman(index: index) }
  }

  func failureIsReportedLikePodman(index: Int) async throws {
    let (script, expected, code) = Self.failures[index]
    try await withFakePlugins { plugins in
      try plugins.install("p", script)
      do {
        _ = try await plugins.executor().execute("p", invocation: PluginInvocation(command: .add), stdin: [])
        Issue.record("expected a failure")
      } catch let error as CNIError {
        #expect(error.kind == .pluginFailed)
        #expect(error.plugin == "p")
        #expect(error.code?.rawValue == code)
        if index == 3 {
          // The decode error's wording is ours; the quoted stdout is what matters.
          #expect(
            error.description.hasPrefix("cni plugin p failed but error parsing its diagnostic message \"not json"))
        } else {
          #expect(error.description == expected)
        }
      }
    }
  }

  @Test func execFailuresNameThePath() async throws {
    try await withFakePlugins { plugins in
      let notExecutable = try plugins.install("noexec", "exit 0", mode: 0o644)
      let badInterpreter = plugins.pluginDirectory + "/badinterp"
      try "#!/nonexistent/interpreter\n".write(toFile: badInterpreter, atomically: false, encoding: .utf8)
      try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: badInterpreter)
      let executor = plugins.executor()
      await #expect {
        _ = try await executor.execute("noexec", invocation: PluginInvocation(command: .add), stdin: [])
      } throws: { error in
        (error as? CNIError)?.kind == .execFailed
          && "\(error)" == "failed to execute cni plugin \(notExecutable): Permission denied"
      }
      await #expect {
        _ = try await executor.execute("badinterp", invocation: PluginInvocation(command: .add), stdin: [])
      } throws: { error in
        "\(error)" == "failed to execute cni plugin \(badInterpreter): No such file or directory"
      }
    }
  }

  @Test func aPluginThatIgnoresStdinCannotHurtUs() async throws {
    try await withFakePlugins { plugins in
      // Closing stdin first makes our writes hit a closed socket: EPIPE, never SIGPIPE.
      try plugins.install("deaf", "exec 0<&-; echo '{}'")
      let bigInput = [UInt8](repeating: UInt8(ascii: "x"), count: 8 << 20)
      for _ in 0..<3 {
        let output = try await plugins.executor().execute(
          "deaf", invocation: PluginInvocation(command: .version), stdin: bigInput)
        #expect(String(decoding: output, as: UTF8.self) == "{}\n")
      }
    }
  }

  @Test func bothPipesAreReadConcurrently() async throws {
    try await withFakePlugins { plugins in
      // 4 MB on stderr before anything on stdout: a reader that drains stdout first would deadlock.
      try plugins.install("chatty", "head -c 4000000 /dev/zero | tr '\\0' e >&2; head -c 3000000 /dev/zero; exit 0")
      let capture = LogCapture()
      let output = try await plugins.executor(logger: capture.logger).execute(
        "chatty", invocation: PluginInvocation(command: .add), stdin: [])
      #expect(output.count == 3_000_000)
      // Stderr of a successful plugin goes to our log.
      #expect(capture.messages.contains { $0.hasPrefix("cni plugin stderr") && $0.contains("plugin=chatty") })
    }
  }

  @Test func hugeOutputIsCappedAndReported() async throws {
    try await withFakePlugins { plugins in
      try plugins.install("flood", "head -c 100000000 /dev/zero; exit 0")
      try plugins.install("floodfail", "head -c 100000000 /dev/zero | tr '\\0' e >&2; exit 1")
      let executor = plugins.executor()
      await #expect {
        _ = try await executor.execute("flood", invocation: PluginInvocation(command: .add), stdin: [])
      } throws: { error in
        (error as? CNIError)?.kind == .invalidOutput && "\(error)".contains("output truncated")
      }
      do {
        _ = try await executor.execute("floodfail", invocation: PluginInvocation(command: .add), stdin: [])
        Issue.record("expected a failure")
      } catch let error as CNIError {
        #expect(error.description.contains("output truncated at 16777216 bytes"))
        #expect(error.stderr?.utf8.count == 16 << 20)
      }
    }
  }

  @Test(.timeLimit(.minutes(1)), arguments: [false, true])
  func timeoutKillsTheWholeProcessGroup(blocksCallingThread: Bool) async throws {
    try await runs(blocking: blocksCallingThread) { try await Self().timeoutKillsTheGroup() }
  }

  func timeoutKillsTheGroup() async throws {
    try await withFakePlugins { plugins in
      let pidFile = plugins.root.appending("grandchild.pid")
      try plugins.install("slow", "sleep 60 & echo $! > '\(pidFile)'; sleep 60")
      let executor = plugins.executor(timeout: .milliseconds(500))
      await #expect {
        _ = try await executor.execute("slow", invocation: PluginInvocation(command: .add), stdin: [])
      } throws: { error in
        (error as? CNIError)?.kind == .timedOut && "\(error)" == "cni plugin slow timed out after 0.5 s"
      }
      let pid = try #require(Int32(try String(contentsOfFile: pidFile, encoding: .utf8).trimmed))
      #expect(await processIsGone(pid))
    }
  }

  @Test(.timeLimit(.minutes(1)), arguments: [false, true])
  func cancellationKillsThePlugin(blocksCallingThread: Bool) async throws {
    try await withFakePlugins { plugins in
      let pidFile = plugins.root.appending("plugin.pid")
      try plugins.install("hang", "echo $$ > '\(pidFile)'; sleep 60")
      let executor = plugins.executor()
      let task = Task {
        try await runs(blocking: blocksCallingThread) {
          _ = try await executor.execute("hang", invocation: PluginInvocation(command: .add), stdin: [])
        }
      }
      while Int32((try? String(contentsOfFile: pidFile, encoding: .utf8))?.trimmed ?? "") == nil {
        try await Task.sleep(for: .milliseconds(10))
      }
      task.cancel()
      await #expect {
        _ = try await task.value
      } throws: { error in
        (error as? CNIError)?.kind == .cancelled
      }
      let pid = try #require(Int32(try String(contentsOfFile: pidFile, encoding: .utf8).trimmed))
      #expect(await processIsGone(pid))
    }
  }

  @Test(.timeLimit(.minutes(1)), arguments: [false, true])
  func aGrandchildHoldingThePipesDoesNotHoldUs(blocksCallingThread: Bool) async throws {
    try await runs(blocking: blocksCallingThread) { try await Self().grandchildDoesNotHoldUs() }
  }

  func grandchildDoesNotHoldUs() async throws {
    try await withFakePlugins { plugins in
      let pidFile = plugins.root.appending("daemon.pid")
      try plugins.install("forker", "sleep 60 & echo $! > '\(pidFile)'; echo '{}'; exit 0")
      let output = try await plugins.executor().execute(
        "forker", invocation: PluginInvocation(command: .add), stdin: [])
      #expect(String(decoding: output, as: UTF8.self) == "{}\n")
      // The daemon was left running on purpose (plugins may start daemons); end it, by its id.
      if let pid = Int32((try? String(contentsOfFile: pidFile, encoding: .utf8))?.trimmed ?? "") { kill(pid, SIGKILL) }
    }
  }

  @Test func textFileBusyIsRetried() async throws {
    try await withFakePlugins { plugins in
      let path = try plugins.install("busy", "echo '{}'")
      // An open write descriptor makes execve fail with ETXTBSY until it is closed. O_CLOEXEC keeps children that
      // other tests fork meanwhile from inheriting it (they would keep the file busy for their whole life).
      let writer = open(path, O_WRONLY | O_CLOEXEC)
      #expect(writer >= 0)
      // Closed from a thread of its own: a Swift-concurrency sleep or a Dispatch timer can fire late when other
      // tests keep those pools busy, and the close must fall inside the retry window.
      Thread {
        usleep(30_000)
        close(writer)
      }.start()
      let output = try await plugins.executor().execute(
        "busy", invocation: PluginInvocation(command: .add), stdin: [])
      #expect(String(decoding: output, as: UTF8.self) == "{}\n")
    }
  }

  @Test func pluginsRunInTheirOwnProcessGroup() async throws {
    try await withFakePlugins { plugins in
      try plugins.install(
        "pgid", #"printf '{"pid":%s,"pgid":%s}' $$ $(ps -o pgid= -p $$ 2>/dev/null || cut -d' ' -f5 /proc/$$/stat)"#)
      let output = try await plugins.executor().execute("pgid", invocation: PluginInvocation(command: .add), stdin: [])
      let value = try JSONValue.parse(output)
      #expect(value["pid"] != nil)
      #expect(value["pid"]?.intValue == value["pgid"]?.intValue)
      #expect(value["pgid"]?.intValue != Int(getpgrp()))
    }
  }

  @Test func versionAnswersAreCachedPerBinary() async throws {
    try await withFakePlugins { plugins in
      try plugins.installRecorder("v")
      let executor = plugins.executor()
      let first = try await executor.versionInfo("v")
      let second = try await executor.versionInfo("v")
      #expect(first.supportedVersions == ["0.3.1", "0.4.0", "1.0.0"])
      #expect(first == second)
      #expect(try plugins.records().count == 1)
      let record = try #require(try plugins.records().first)
      #expect(record.stdin == ["cniVersion": "1.1.0"])
      #expect(record.environment["CNI_COMMAND"] == "VERSION")
    }
  }

  @Test func pluginNamespaceThatCannotBeOpenedIsNamed() async throws {
    try await withFakePlugins { plugins in
      try plugins.install("p", "echo '{}'")
      var executor = plugins.executor()
      executor.pluginNamespacePath = "/nonexistent/netns"
      await #expect {
        _ = try await executor.execute("p", invocation: PluginInvocation(command: .add), stdin: [])
      } throws: { error in
        "\(error)".contains("/nonexistent/netns")
      }
    }
  }
}

/// Whether a process is gone (or a zombie): SIGKILL is asynchronous, so give the kernel a moment.
/// Runs `body` as `cnet` runs commands when `blocking`: on a thread of its own, which plugin runs block
/// (``PluginWaiting/callingThread``); otherwise on the shared pool, plugin runs waiting on pooled threads.
func runs(blocking: Bool, _ body: @escaping @Sendable () async throws -> Void) async throws {
  guard blocking else { return try await body() }
  try await SerialThreadExecutor.withOwnThread {
    try await TestPluginWaiting.$current.withValue(.callingThread) { try await body() }
  }
}

func processIsGone(_ pid: Int32) async -> Bool {
  for _ in 0..<200 {
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8) else { return true }
    if let close = stat.lastIndex(of: ")") {
      let state = stat[stat.index(close, offsetBy: 2)]
      if state == "Z" || state == "X" { return true }
    }
    try? await Task.sleep(for: .milliseconds(10))
  }
  return false
}

extension String {
  var trimmed: String { trimmingCharacters(in: .whitespacesAndNewlines) }
}
