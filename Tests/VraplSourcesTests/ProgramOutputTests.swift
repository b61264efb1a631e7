import Foundation
import Testing
import VraplCore
import VraplTestSupport
@testable import VraplSources

/// `nvidia-smi` as a reader asks it: the Foundation-free child process runner and the parser behind
/// it, against a stand-in script.
@Suite("ProgramOutput and the nvidia-smi reader")
struct ProgramOutputTests {
    static func script(_ text: String) throws -> String {
        let path = try Scratch.file("nvidia-smi")
        try ("#!/bin/sh\n" + text).write(toFile: path, atomically: true, encoding: .utf8)
        chmod(path, 0o755)
        return path
    }

    @Test("stdout comes back, stderr does not; arguments arrive one by one")
    func capturesStdout() throws {
        let out = try ProgramOutput.run("/bin/sh", ["-c", "echo out; echo err >&2; printf '%s|' \"$@\"", "sh", "a b", "c"])
        #expect(out == "out\na b|c|")
    }

    @Test("descriptors of ours that are not close-on-exec (a trace HDF5 has just opened) do not reach the child")
    func noInheritedDescriptors() throws {
        let fd = open(try Scratch.file("held"), O_CREAT | O_RDWR, 0o600)   // no O_CLOEXEC, as HDF5 opens
        defer { close(fd) }
        let listed = try ProgramOutput.run("/bin/sh", ["-c", "for f in /proc/$$/fd/*; do echo ${f##*/}; done"])
        let fds = listed.split(separator: "\n").compactMap { Int32($0) }
        #expect(fd > 2 && !fds.contains(fd), "child saw \(fds), ours \(fd)")
    }

    @Test("a missing program and a failing one are one-line errors naming them")
    func failures() throws {
        #expect { _ = try ProgramOutput.run("/nonexistent/tool", []) } throws: { "\($0)".contains("/nonexistent/tool: cannot start") }
        #expect { _ = try ProgramOutput.run("/bin/sh", ["-c", "exit 3"]) } throws: { "\($0)".contains("exit status 3") }
    }

    @Test("NvidiaSMIGPUSource reads power and per-process use through the stand-in")
    func nvidiaSMI() throws {
        let smi = try Self.script("""
        if [ "$1" = pmon ]; then printf '# gpu pid type sm mem enc dec command\\n    0  4242  C  75  10  -  -  python\\n'; exit 0; fi
        printf 'index, name, power.draw [W], utilization.gpu [%%]\\n0, Tesla T4, 31.50, 80\\n'
        """)
        let gpus = try NvidiaSMIGPUSource(executable: smi).sample()
        #expect(gpus.count == 1 && gpus[0].name == "Tesla T4" && gpus[0].power == Watts(31.5) && gpus[0].utilizationPct == 80)
        #expect(gpus[0].processes == [GPUProcessSample(pid: 4242, smUtilPct: 75)])
        let broken = try Self.script("exit 9\n")
        #expect { _ = try NvidiaSMIGPUSource(executable: broken).sample() } throws: { "\($0)".contains("exit status 9") }
    }
}
