import Foundation
import Logging

/// Collects what a library logs, so tests can assert on warnings and plugin stderr.
public final class LogCapture: @unchecked Sendable {
  public struct Entry: Sendable {
    public var level: Logger.Level
    /// The message, followed by its metadata as sorted `key=value` pairs.
    public var text: String
  }

  private let lock = NSLock()
  private var stored: [Entry] = []

  public init() {}

  public var entries: [Entry] {
    lock.lock()
    defer { lock.unlock() }
    return stored
  }

  /// Every message, with its metadata.
  public var messages: [String] { entries.map(\.text) }

  /// The messages logged at warning level.
  public var warnings: [String] { entries.filter { $0.level == .warning }.map(\.text) }

  /// A logger that records into this capture, at every level.
  public var logger: Logger {
    Logger(label: "test") { _ in Handler(capture: self) }
  }

  fileprivate func append(_ entry: Entry) {
    lock.lock()
    stored.append(entry)
    lock.unlock()
  }

  private struct Handler: LogHandler {
    let capture: LogCapture
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
      get { metadata[key] }
      set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
      let merged = metadata.merging(event.metadata ?? [:]) { $1 }
      var text = "\(event.message)"
      if !merged.isEmpty { text += " " + merged.keys.sorted().map { "\($0)=\(merged[$0]!)" }.joined(separator: " ") }
      capture.append(Entry(level: event.level, text: text))
    }
  }
}
