extension StringProtocol {
  /// The text without leading and trailing white space (FoundationEssentials, all the command-line
  /// tool links, has no `trimmingCharacters`).
  public func trimmingWhitespace() -> String {
    guard let first = firstIndex(where: { !$0.isWhitespace }), let last = lastIndex(where: { !$0.isWhitespace }) else {
      return ""
    }
    return String(self[first...last])
  }
}
