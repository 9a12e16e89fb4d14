import Foundation
import Testing

@testable import LaunchKit

@Suite("What Linux tells through /proc")
struct ProcFSTests {
    @Test func memAvailableFromRealMeminfo() throws {
        let available = ProcFS.memAvailable(meminfo: try Fixture.text("proc/meminfo"))
        #expect(available == ByteSize(bytes: 24_255_676 * 1024))
        #expect(ProcFS.memAvailable(meminfo: "MemTotal: 1 kB\n") == nil)
    }

    @Test func listeningSocketsFromRealNetTCP() throws {
        let v4 = ProcFS.listeningSockets(try Fixture.text("proc/net-tcp"))
        #expect(
            v4 == [
                .init(address: "0.0.0.0", port: 2024, inode: 1145),
                .init(address: "0.0.0.0", port: 18080, inode: 145_074),
            ])
        let v6 = ProcFS.listeningSockets(try Fixture.text("proc/net-tcp6"))
        #expect(v6 == [.init(address: "::", port: 18443, inode: 145_075)])
    }

    @Test func onlyListeningSocketsCount() {
        // State 01 is ESTABLISHED: a connection to the port, not a holder of it.
        let text = """
              sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
               0: 0100007F:1F90 0100007F:C350 01 00000000:00000000 00:00000000 00000000     0        0 999 1 0 20 4 30 10 -1
               1: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 777 1 0 100 0 0 10 0
            """
        #expect(ProcFS.listeningSockets(text) == [.init(address: "127.0.0.1", port: 8080, inode: 777)])
    }

    @Test func addressesAreDecodedFromHostOrderWords() {
        #expect(ProcFS.address(hex: "0100007F") == "127.0.0.1")
        #expect(ProcFS.address(hex: "00000000000000000000000000000000") == "::")
        #expect(ProcFS.address(hex: "0000000000000000FFFF00000100007F") == "::ffff:127.0.0.1")
        #expect(ProcFS.address(hex: "00000000000000000000000001000000") == "0:0:0:0:0:0:0:1")
    }

    @Test func holdersAreFoundThroughFileDescriptors() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("proc-\(UUID().uuidString.prefix(8))").path
        defer { try? FileManager.default.removeItem(atPath: root) }
        for (pid, command, target) in [("4242", "python3", "socket:[145074]"), ("77", "bash", "/dev/pts/0")] {
            try FileManager.default.createDirectory(atPath: "\(root)/\(pid)/fd", withIntermediateDirectories: true)
            try FileManager.default.createSymbolicLink(atPath: "\(root)/\(pid)/fd/3", withDestinationPath: target)
            try "\(command)\n".write(toFile: "\(root)/\(pid)/comm", atomically: true, encoding: .utf8)
        }
        try FileManager.default.createDirectory(atPath: root + "/net", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: Fixture.path("proc/net-tcp"), toPath: root + "/net/tcp")
        let proc = ProcFS(root: root)
        let inodes = Set(proc.listeningSockets().filter { $0.port == 18080 }.map(\.inode))
        #expect(proc.holders(ofSocketInodes: inodes) == [.init(pid: 4242, command: "python3")])
        #expect(proc.holders(ofSocketInodes: [1]).isEmpty)
        #expect("\(ProcFS.Holder(pid: 4242, command: "python3"))" == "python3 (pid 4242)")
    }
}
