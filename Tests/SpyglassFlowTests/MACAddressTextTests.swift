import SpyglassFlow
import Testing

@Suite struct MACAddressTextTests {
    @Test func readsWhatDescriptionWrites() {
        let m = MACAddress((0x0a, 0xbb, 0x0c, 0x00, 0x11, 0xff))
        #expect(m.description == "0a:bb:0c:00:11:ff")
        #expect(MACAddress(text: m.description) == m)
        #expect(MACAddress(text: "0A:BB:0C:00:11:FF") == m)
    }

    @Test func refusesWhatIsNotSixHexBytes() {
        #expect(MACAddress(text: "") == nil)
        #expect(MACAddress(text: "0a:bb:0c:00:11") == nil)
        #expect(MACAddress(text: "0a:bb:0c:00:11:ff:01") == nil)
        #expect(MACAddress(text: "0a:bb:0c:00:11:fg") == nil)
        #expect(MACAddress(text: "0a:bb:0c:00:11:100") == nil)
    }
}
