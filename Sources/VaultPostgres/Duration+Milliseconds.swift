extension Duration {
    /// Whole milliseconds (rounded down): what PostgreSQL's settings and NIO's timeouts take.
    var milliseconds: Int64 { components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000 }
}
