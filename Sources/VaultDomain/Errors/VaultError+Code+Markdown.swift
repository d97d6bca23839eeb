extension VaultError.Code {
    /// The registry as the Markdown table of docs/api.md (a test keeps the two equal).
    public static var markdownTable: String {
        var out = ""
        var group = ""
        for entry in registry {
            if entry.group != group {
                group = entry.group
                out += (out.isEmpty ? "" : "\n") + "**\(group)**\n\n| code | meaning |\n|---|---|\n"
            }
            out += "| `\(entry.code.rawValue)` | \(entry.meaning) |\n"
        }
        return out
    }
}
