import Testing

@testable import LaunchKit

/// How the engine's log bodies are cut into lines: multiplexed frames (a container without a TTY) and raw text, whole
/// (a log tail for a diagnosis) or as they arrive (a followed log).
@Suite("Log framing")
struct LogFramingTests {
    /// One multiplexed frame: [stream, 0, 0, 0, UInt32 big-endian length] + payload.
    func frame(_ stream: UInt8, _ text: String) -> [UInt8] {
        let payload = Array(text.utf8)
        let n = UInt32(payload.count)
        return [stream, 0, 0, 0, UInt8(n >> 24), UInt8(n >> 16 & 0xFF), UInt8(n >> 8 & 0xFF), UInt8(n & 0xFF)] + payload
    }

    @Test func aWholeLogIsCutIntoLinesPerStream() {
        let body = frame(1, "out\npart") + frame(2, "err\n") + frame(1, "ial\n\n") + frame(2, "tail")
        #expect(EngineClient.demultiplexLines(body) == ["out", "err", "partial", "", "tail"])
        #expect(EngineClient.lines(Array("a\r\nb\r\n".utf8)) == ["a", "b"])
    }

    @Test func aMultiplexedLogIsCutIntoLinesFrameByFrame() {
        // A long line comes as pieces (the engine cuts at 16 KiB), with a stderr line between them.
        let bytes = frame(1, "booting\n") + frame(1, "ready to ") + frame(2, "warn: slow disk\n") + frame(1, "accept connections\n")
        // Arriving in pieces that cut a header and a payload.
        let frames = EngineClient.FrameLines()
        var pending: [UInt8] = []
        var lines: [String] = []
        for piece in [bytes[0..<5], bytes[5..<20], bytes[20...]] {
            pending += piece
            lines += frames.take(&pending)
        }
        #expect(lines == ["booting", "warn: slow disk", "ready to accept connections"])
        #expect(pending.isEmpty)
        // A frame that is still arriving stays in the buffer.
        pending = Array(frame(1, "partial\n").prefix(10))
        #expect(frames.take(&pending).isEmpty)
        #expect(pending.count == 10)
        // A runaway line is handed on rather than kept growing.
        pending = frame(1, String(repeating: "x", count: EngineClient.longestLine + 1))
        #expect(frames.take(&pending).count == 1)
        // Text where a header should be (the engine writes some errors unframed) is not read as a length; read
        // whole, it is kept as text.
        pending = Array("Error grabbing logs: invalid character".utf8)
        #expect(frames.take(&pending).isEmpty && frames.unframed)
        #expect(frames.finish(pending) == ["Error grabbing logs: invalid character"])
    }

    @Test func aRawLogIsCutIntoLinesAndARunawayLineIsHandedOn() {
        var pending = Array("one\r\ntwo\nthr".utf8)
        #expect(EngineClient.takeLines(&pending) == ["one", "two"])
        #expect(pending == Array("thr".utf8))
        pending = [UInt8](repeating: UInt8(ascii: "x"), count: EngineClient.longestLine + 1)
        #expect(EngineClient.takeLines(&pending).count == 1)
        #expect(pending.isEmpty)
    }
}
