/// Writes JSON the way Go's `json.MarshalIndent` does, so that files we write are byte for byte what Podman writes.
///
/// Go escapes `<`, `>`, `&`, U+2028 and U+2029 for HTML safety; a reader that diffs our file against Podman's sees no
/// difference either way. Apart from those escapes and the layout, the text is that of ``JSONValue/serialized()``:
/// both come from the same writer.
public enum GoJSONFormat {
  /// `value` as Go writes it: with `indent` per level like `json.MarshalIndent`, or compact like `json.Marshal`
  /// when `indent` is nil.
  public static func indented(_ value: JSONValue, indent: String?) -> [UInt8] {
    JSONWriter.text(of: value, escapingHTML: true, indent: indent.map { Array($0.utf8) })
  }
}
