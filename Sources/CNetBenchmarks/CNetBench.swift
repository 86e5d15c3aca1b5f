// cnet-bench: the in-process figures of the benchmark suite (scripts/bench runs it).
//
// It prints medians, never asserts on them. Each figure is printed as a row of the markdown table that
// scripts/bench assembles:
//   | area | measurement | N | cnet median | anchor | anchor median | ratio | target |
//
// Usage: cnet-bench [--sizes 10,100,1000] [--runs R] [--host-netns PATH] [--work-dir DIR]
// Networks are written by the CNI backend itself (Podman's conflist format) in a temporary directory; plugins are
// never run. With --host-netns, host interfaces are read (and the probe network's bridge deleted) in that namespace.

import CNIBackend
import ContainerNetworkCore
import Foundation
import Logging
import NetworkAddress

#if canImport(Glibc)
  import Glibc
#endif

struct Options {
  var sizes = [10, 100, 1000]
  var runs = 21
  var hostNamespace: String?
  var workDirectory: String?

  init(arguments: [String]) {
    var index = 0
    func value() -> String {
      index += 1
      guard index < arguments.count else { fail("missing value after \(arguments[index - 1])") }
      return arguments[index]
    }
    while index < arguments.count {
      switch arguments[index] {
      case "--sizes": sizes = value().split(separator: ",").compactMap { Int($0) }
      case "--runs": runs = max(1, Int(value()) ?? runs)
      case "--host-netns": hostNamespace = value()
      case "--work-dir": workDirectory = value()
      case "-h", "--help":
        print("usage: cnet-bench [--sizes 10,100,1000] [--runs R] [--host-netns PATH] [--work-dir DIR]")
        exit(0)
      default: fail("unknown argument \(arguments[index])")
      }
      index += 1
    }
  }
}

func fail(_ message: String) -> Never {
  FileHandle.standardError.write(Data("cnet-bench: \(message)\n".utf8))
  exit(2)
}

/// Monotonic nanoseconds.
func now() -> UInt64 {
  var time = timespec()
  clock_gettime(CLOCK_MONOTONIC, &time)
  return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
}

/// The median of `runs` timings of `body`, in milliseconds.
func medianMilliseconds(runs: Int, _ body: () async throws -> Void) async rethrows -> Double {
  var samples: [Double] = []
  samples.reserveCapacity(runs)
  for _ in 0..<runs {
    let start = now()
    try await body()
    samples.append(Double(now() - start) / 1e6)
  }
  samples.sort()
  return samples.count % 2 == 1
    ? samples[samples.count / 2] : (samples[samples.count / 2 - 1] + samples[samples.count / 2]) / 2
}

func format(_ milliseconds: Double) -> String {
  if milliseconds < 0.01 { return String(format: "%.2f µs", milliseconds * 1000) }
  if milliseconds < 1 { return String(format: "%.3f ms", milliseconds) }
  return String(format: "%.2f ms", milliseconds)
}

func row(
  _ area: String, _ measurement: String, _ size: String, _ median: Double, anchor: String = "",
  anchorMedian: Double? = nil, faster: Bool = false,
  target: String = ""
) {
  // A ratio is ours over the anchor's, or with `faster` the anchor's over ours ("70× faster").
  let ratio =
    anchorMedian.map { faster ? String(format: "%.1f× faster", $0 / median) : String(format: "%.2f×", median / $0) }
    ?? ""
  let anchorText = anchorMedian.map { "\(anchor): \(format($0))" } ?? anchor
  print("| \(area) | \(measurement) | \(size) | \(format(median)) | \(anchorText) | \(ratio) | \(target) |")
}

/// A quiet logger: skipped-file warnings are not what is measured.
let quietLogger: Logger = {
  var logger = Logger(label: "cnet-bench") { _ in SwiftLogNoOpLogHandler() }
  logger.logLevel = .critical
  return logger
}()

func backend(directory: String, options: Options, index: Bool = true) -> CNINetworkBackend {
  var configuration = CNIBackendConfiguration(
    configDirectory: directory, cacheDirectory: "\(directory).cache", hostLocalDataDirectory: "\(directory).ipam",
    hostNamespacePath: options.hostNamespace, logger: quietLogger)
  configuration.usesNetworkIndex = index
  return CNINetworkBackend(configuration: configuration)
}

/// Fills `directory` with `count` networks (bench-0001 …), each with an automatic subnet, as `cnet create` would.
func populate(_ directory: String, count: Int, options: Options) async throws {
  try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
  let store = backend(directory: directory, options: options)
  let existing = try await store.list().count - 1
  for index in existing..<count {
    _ = try await store.create(
      Network(name: String(format: "bench-%04d", index + 1), driver: "bridge", dnsEnabled: false))
  }
}

func benchmarkStore(size: Int, directory: String, options: Options) async throws {
  let runs = options.runs
  let probeName = String(format: "bench-%04d", max(1, size / 2))

  // Cold: a fresh backend, as in a new `cnet ls` (the page cache is warm). With the index it stats every file and
  // reads one index file; without, it reads and parses every file.
  let coldParse = try await medianMilliseconds(runs: runs) {
    _ = try await backend(directory: directory, options: options, index: false).list()
  }
  _ = try await backend(directory: directory, options: options).list()
  let cold = try await medianMilliseconds(runs: runs) {
    _ = try await backend(directory: directory, options: options).list()
  }
  let warmStore = backend(directory: directory, options: options)
  _ = try await warmStore.list()
  let warm = try await medianMilliseconds(runs: runs * 5) { _ = try await warmStore.list() }
  let inspectCold = try await medianMilliseconds(runs: runs) {
    _ = try await backend(directory: directory, options: options).inspect(probeName)
  }
  let inspectWarm = try await medianMilliseconds(runs: runs * 5) { _ = try await warmStore.inspect(probeName) }
  row("in-process", "list() cold, no index (new backend: read + parse every file)", "\(size)", coldParse)
  row(
    "in-process", "list() cold (new backend: stat every file, read the index)", "\(size)", cold,
    anchor: "cold list() without index", anchorMedian: coldParse,
    target: size == 1000 ? verdict(cold <= 5, "≤ 5 ms (a few ms)") : "")
  row("in-process", "list() warm (directory unchanged)", "\(size)", warm, anchor: "cold list()", anchorMedian: cold)
  row("in-process", "inspect() cold", "\(size)", inspectCold)
  row("in-process", "inspect() warm", "\(size)", inspectWarm, anchor: "cold inspect()", anchorMedian: inspectCold)

  // Create one network with an automatic subnet next to `size` others; only the create is timed, the removal
  // that restores the directory is not.
  let createStore = backend(directory: directory, options: options)
  _ = try await createStore.list()
  var samples: [Double] = []
  for _ in 0..<runs {
    let start = now()
    _ = try await createStore.create(Network(name: "bench-probe", driver: "bridge", dnsEnabled: false))
    samples.append(Double(now() - start) / 1e6)
    try await createStore.remove("bench-probe", force: false)
  }
  samples.sort()
  row(
    "in-process", "create (automatic subnet)", "\(size)", samples[samples.count / 2],
    target: size == 1000 ? verdict(samples[samples.count / 2] <= 30, "≤ 30 ms") : "")
}

func benchmarkAllocator(runs: Int) {
  // 10 000 used /24 subnets from the start of the default pools: the first free one lies in the last pool.
  var used: [IPNetwork] = []
  var value: UInt32 = 0x0A59_0000  // 10.89.0.0
  for _ in 0..<10_000 {
    used.append(IPNetwork("\(value >> 24).\((value >> 16) & 0xff).\((value >> 8) & 0xff).0/24")!)
    value += 256
  }
  var generator = SystemRandomNumberGenerator()
  let allocator = SubnetAllocator()
  for (order, list) in [("in pool order", used), ("shuffled", used.shuffled(using: &generator))] {
    var answer = ""
    var samples: [Double] = []
    for _ in 0..<runs * 10 {
      let start = now()
      let subnet = try? allocator.firstFree(avoiding: list)
      samples.append(Double(now() - start) / 1e6)
      answer = subnet?.description ?? "none"
    }
    samples.sort()
    let median = samples[samples.count / 2]
    row(
      "in-process", "SubnetAllocator.firstFree, 10 000 used subnets \(order) → \(answer)", "10000", median,
      target: verdict(median <= 1, "< 1 ms"))
  }
}

/// A target with its outcome.
func verdict(_ met: Bool, _ target: String) -> String {
  "\(target): \(met ? "met" : "**missed**")"
}

@main
struct CNetBench {
  static func main() async {
    signal(SIGPIPE, SIG_IGN)
    let options = Options(arguments: Array(CommandLine.arguments.dropFirst()))
    let work = options.workDirectory ?? NSTemporaryDirectory() + "cnet-bench-\(getpid())"
    let ownsWork = options.workDirectory == nil
    defer { if ownsWork { try? FileManager.default.removeItem(atPath: work) } }
    do {
      for size in options.sizes {
        let directory = "\(work)/n\(size)"
        let start = now()
        try await populate(directory, count: size, options: options)
        // The backend re-reads a directory changed within the last 50 ms; let the fresh one settle first.
        try await Task.sleep(for: .milliseconds(100))
        FileHandle.standardError.write(
          Data("cnet-bench: \(size) networks ready in \(format(Double(now() - start) / 1e6))\n".utf8))
        try await benchmarkStore(size: size, directory: directory, options: options)
      }
      benchmarkAllocator(runs: options.runs)
      try await benchmarkNativeCycles(options: options, work: work)
    } catch {
      fail("\(error)")
    }
  }
}
