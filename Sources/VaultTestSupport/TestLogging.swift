import Foundation
import Logging

/// The tests' log level: `critical` unless CARDVAULT_TEST_LOG_LEVEL says otherwise, so a green
/// run prints no "error ... storage failure" lines from failures a test causes on purpose. Tests
/// that check what is logged use `LogCapture`, which has its own handler.
public enum TestLogging {
    private static let bootstrapped: Void = {
        let level = ProcessInfo.processInfo.environment["CARDVAULT_TEST_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .critical
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
    }()

    /// Sets the level once per test process; loggers made afterwards follow it.
    public static func configure() { _ = bootstrapped }
}
