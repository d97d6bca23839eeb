import Testing
import VaultProviders

@Suite("JSON pass-through")
struct JSONValueTests {
    @Test func parsesAndWritesBackFaithfully() throws {
        let text = #"{"a":1,"b":-2.5,"c":"ütf \"q\" \u0041\n","d":[true,false,null,{}],"e":{"x":[]},"f":1e3}"#
        let value = try #require(JSONValue.parse(Array(text.utf8)))
        #expect(value["a"] == .int(1))
        #expect(value["b"] == .double(-2.5))
        #expect(value["c"] == .string("ütf \"q\" A\n"))
        #expect(value["f"] == .double(1000))
        let again = try #require(JSONValue.parse(value.bytes))
        #expect(again == value)
    }

    @Test(arguments: ["", "{", "{\"a\":}", "[1,]", "{\"a\":1} x", "\"\u{1}\"", "nul", "{\"a\" 1}"])
    func rejectsInvalid(text: String) {
        #expect(JSONValue.parse(Array(text.utf8)) == nil)
    }

    @Test func deepNestingIsRefused() {
        let deep = String(repeating: "[", count: 100) + String(repeating: "]", count: 100)
        #expect(JSONValue.parse(Array(deep.utf8)) == nil)
    }
}
