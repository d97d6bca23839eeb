import Foundation
import Synchronization
import Testing
import VaultDomain
import VaultStorage
import VaultTestSupport

/// `runAlone`: the retention sweep and the purges run on one instance at a time. Two stores on
/// one PostgreSQL database: while one runs a job the other skips it; after it ends, the other
/// may run it. A failed job releases its lease.
@Suite("Maintenance jobs across instances (PostgreSQL)", .enabled(if: PostgresCluster.isInstalled))
struct JobLeaseTests {
    @Test func oneInstanceAtATimeRunsAJob() async throws {
        let a = try await TemporaryVault(database: try PostgresCluster.shared.get().makeDatabase())
        let b = try VaultRuntime(databasePath: a.databasePath, keysDirectory: a.keysDirectory)
        let (storeA, storeB) = (a.runtime.store, b.store)
        let ranOnB = Atomic<Int>(0)
        let ranOnA = try await storeA.runAlone("retention_sweep") {
            // B tries while A holds the job: it skips it, for this job only.
            let skipped = try await storeB.runAlone("retention_sweep") { ranOnB.add(1, ordering: .relaxed) }
            #expect(skipped == false)
            #expect(try await storeB.runAlone("purge") {} == true)
        }
        #expect(ranOnA && ranOnB.load(ordering: .relaxed) == 0)
        #expect(try await storeB.runAlone("retention_sweep") { ranOnB.add(1, ordering: .relaxed) } == true)
        struct Failure: Error {}
        await #expect(throws: Failure.self) { _ = try await storeA.runAlone("purge") { throw Failure() } }
        #expect(try await storeB.runAlone("purge") {} == true, "a failed job released its lease")
    }
}
