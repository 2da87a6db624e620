import MemoryContract
import Testing

@Suite("Random memory ids")
struct RandomUUIDTests {
    @Test func idsAreCanonicalLowercaseVersionFourUUIDs() throws {
        for _ in 0..<2000 {
            let id = RandomUUID.next()
            try Validate.memoryID(id)
            #expect(id == id.lowercased())
            let characters = Array(id)
            #expect(characters[14] == "4")
            #expect("89ab".contains(characters[19]))
        }
    }

    /// Many buffer refills (256 ids each), from several threads at once: no id twice.
    @Test func idsDoNotRepeatAcrossRefillsAndThreads() async {
        let batches = await withTaskGroup(of: [String].self) { group in
            for _ in 0..<4 { group.addTask { (0..<25_000).map { _ in RandomUUID.next() } } }
            return await group.reduce(into: [[String]]()) { $0.append($1) }
        }
        let all = batches.flatMap { $0 }
        #expect(Set(all).count == all.count)
        // Every hex digit turns up in every random position (a stuck nibble would not).
        for position in [0, 7, 9, 15, 20, 35] {
            let seen = Set(all.prefix(5000).map { Array($0)[position] })
            #expect(seen.count == 16, "position \(position): \(seen.sorted())")
        }
    }
}
