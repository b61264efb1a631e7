import Testing
@testable import VraplTrace

/// Labels and segment parameters are JSON objects of strings; files from other tools may hold other
/// JSON values there, which are read back as their JSON text.
@Suite struct TraceJSONTests {
    @Test func writtenObjectsReadBackExactly() throws {
        let labels = ["site": "lab ü", "path": "/srv/a b", "quote": "say \"hi\"\n", "empty": "", "run": "42"]
        let text = TraceLayout.json(labels)
        #expect(text.hasPrefix("{\"empty\":\"\""))  // sorted keys
        #expect(try TraceLayout.parseJSONObject(text, path: "t.h5", object: "/@labels") == labels)
    }

    @Test func otherJSONValuesBecomeTheirText() throws {
        let text = #"{"a": "x", "n": 3, "neg": -12, "f": 2.5, "big": 1e20, "b": true, "z": null, "l": [1, "two"], "o": {"k": 1, "a": [false]}}"#
        let parsed = try TraceLayout.parseJSONObject(text, path: "t.h5", object: "/@labels")
        #expect(parsed == ["a": "x", "n": "3", "neg": "-12", "f": "2.5", "big": "1e20", "b": "true", "z": "null",
                           "l": #"[1,"two"]"#, "o": #"{"k":1,"a":[false]}"#])
    }

    @Test(arguments: ["[1,2]", "\"text\"", "{", "{\"a\": }", "not json"])
    func nonObjectsAreRejectedNamingFileAndObject(text: String) {
        #expect { try TraceLayout.parseJSONObject(text, path: "t.h5", object: "/segments/parameters[3]") } throws: { error in
            let message = "\(error)"
            return message.contains("t.h5") && message.contains("/segments/parameters[3]") && message.contains("expected a JSON object")
        }
    }

    @Test func emptyTextIsNoLabels() throws {
        #expect(try TraceLayout.parseJSONObject("", path: "t.h5", object: "/@labels").isEmpty)
    }
}
