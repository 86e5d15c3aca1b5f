import Foundation

/// Polls `condition` every 50 ms until it holds or `seconds` pass; returns whether it held. For things that happen
/// a moment after the action a test takes (a server listening, a daemon exiting), never as a timing assertion.
@discardableResult
public func waitUntil(seconds: Double = 20, _ condition: () async throws -> Bool) async rethrows -> Bool {
  let deadline = Date().addingTimeInterval(seconds)
  while Date() < deadline {
    if try await condition() { return true }
    try? await Task.sleep(for: .milliseconds(50))
  }
  return try await condition()
}
