import CSpyglassBPF
import Glibc
import SpyglassSupport

/// Attaches the tc programs to interfaces at a fixed (handle, priority) that identifies Spyglass's hooks, so a
/// restart after a crash replaces its own stale hooks instead of stacking duplicates, and removes only its own
/// filters on exit. A clsact qdisc that already exists is shared, never destroyed.
public final class TCAttacher: @unchecked Sendable {
    // @unchecked: `attached` is only touched under `lock`.
    public static let handle: UInt32 = 0x5350  // "SP"
    public static let priority: UInt32 = 0x5350

    private let programs: TCPrograms
    private var attached: [UInt32: InterfaceInfo] = [:]
    /// The role and `spy_iface_config.flags` each attached interface was configured with.
    private var configured: [UInt32: InterfaceSetting] = [:]
    /// Interfaces whose hook belongs to another live agent: ifindex → that agent's program id (so a rescan does not
    /// walk /proc again while nothing changed).
    private var foreign: [UInt32: UInt32] = [:]
    private let ownProgramIDs: Set<UInt32>
    private let lock = PThreadMutex<Void>()

    public init(programs: TCPrograms) {
        self.programs = programs
        ownProgramIDs = Set([programs.ingressFD, programs.egressFD].map { spy_prog_id($0) })
    }

    /// The program id of another live agent's hook on this interface, if there is one. Two agents on one node
    /// would otherwise replace each other's hooks (same handle and priority) and detach them on exit.
    public func foreignHook(on iface: InterfaceInfo) -> UInt32? {
        var id: UInt32 = 0
        guard spy_tc_query(Int32(iface.index), 1, Self.handle, Self.priority, &id) == 0, id != 0,
            !ownProgramIDs.contains(id)
        else {
            _ = lock.withLock { foreign.removeValue(forKey: iface.index) }
            return nil
        }
        if lock.withLock({ foreign[iface.index] }) == id { return id }
        guard ProgramHolders.heldProgramIDs().contains(id) else { return nil }  // a dead agent's: ours to replace
        lock.withLock { foreign[iface.index] = id }
        return id
    }

    /// Attaches ingress and egress on one interface with the observation points of its role. Throws
    /// `watchedByAnotherAgent` when a live agent holds the interface's hook.
    public func attach(_ iface: InterfaceInfo, role: InterfaceRole) throws {
        if foreignHook(on: iface) != nil { throw DatapathError.watchedByAnotherAgent(iface.name) }
        try configure(iface.index, InterfaceSetting(role: role))
        var created: Int32 = 0
        for ingress in [true, false] {
            let fd = ingress ? programs.ingressFD : programs.egressFD
            let rc = spy_tc_attach(Int32(iface.index), ingress ? 1 : 0, fd, Self.handle, Self.priority, &created)
            if rc != 0 {
                if rc == -ENODEV { throw DatapathError.noSuchInterface(iface.name) }
                throw libbpfError("attaching tc \(ingress ? "ingress" : "egress") on \(iface.name)", rc)
            }
        }
        lock.withLock { attached[iface.index] = iface }
    }

    /// Sets (or changes) the observation points and flags of an interface's hooks.
    public func configure(_ ifindex: UInt32, _ setting: InterfaceSetting) throws {
        let points = setting.role.observationPoints
        try programs.setObservationPoints(
            ifindex: ifindex, ingress: points.ingress, egress: points.egress,
            flags: setting.flags, tunnelPort: setting.tunnelPort)
        lock.withLock { configured[ifindex] = setting }
    }

    /// The setting an attached interface was configured with.
    public func configuration(of ifindex: UInt32) -> InterfaceSetting? {
        lock.withLock { configured[ifindex] }
    }

    /// Detaches from one interface (ignores interfaces that are already gone).
    public func detach(ifindex: UInt32) {
        for ingress in [1, 0] as [Int32] {
            _ = spy_tc_detach(Int32(ifindex), ingress, Self.handle, Self.priority)
        }
        programs.removeObservationPoints(ifindex: ifindex)
        lock.withLock {
            attached[ifindex] = nil; configured[ifindex] = nil
        }
    }

    public func detachAll() {
        for index in attachedInterfaces.map(\.index) { detach(ifindex: index) }
    }

    public var attachedInterfaces: [InterfaceInfo] {
        lock.withLock { Array(attached.values).sorted { $0.index < $1.index } }
    }

    /// Forgets interfaces that disappeared (their hooks went with them).
    public func forget(ifindex: UInt32) {
        programs.removeObservationPoints(ifindex: ifindex)
        lock.withLock {
            attached[ifindex] = nil; configured[ifindex] = nil
        }
    }

    /// Attached interfaces whose ingress or egress hook is no longer ours: someone deleted the filter or the clsact
    /// qdisc (`tc qdisc del`, a CNI resetting the interface) while the interface stayed.
    public func interfacesWithLostHooks() -> [InterfaceInfo] {
        attachedInterfaces.filter { iface in
            [1, 0].contains { (ingress: Int32) in
                var id: UInt32 = 0
                let rc = spy_tc_query(Int32(iface.index), ingress, Self.handle, Self.priority, &id)
                return (rc != 0 && rc != -ENODEV) || (rc == 0 && !ownProgramIDs.contains(id))
            }
        }
    }

    /// Removes Spyglass hooks left behind by a previous run that died (SIGKILL, crash) on any interface. Hooks
    /// whose program a live process still holds (another agent) are left alone. Returns the interfaces cleaned.
    @discardableResult
    public static func removeStaleHooks(on interfaces: [InterfaceInfo]) -> [String] {
        var cleaned: [String] = []
        let held = ProgramHolders.heldProgramIDs()
        for iface in interfaces {
            for ingress in [1, 0] as [Int32] {
                var progID: UInt32 = 0
                guard spy_tc_query(Int32(iface.index), ingress, handle, priority, &progID) == 0,
                    !held.contains(progID)
                else { continue }
                var buf = [CChar](repeating: 0, count: 32)
                let rc = spy_prog_name(progID, &buf, buf.count)
                if rc == 0 {
                    let name = stringFromCBuffer(buf)
                    // Program names are truncated to 15 characters by the kernel.
                    guard TCPrograms.programNames.contains(where: { $0.hasPrefix(name) && !name.isEmpty }) else {
                        continue
                    }
                } else if rc != -EPERM {
                    continue
                }
                // Reading another program's name needs CAP_SYS_ADMIN, which the minimal capability set lacks; then
                // our fixed (handle, priority) pair alone identifies the hook as Spyglass's.
                if spy_tc_detach(Int32(iface.index), ingress, handle, priority) == 0 {
                    cleaned.append("\(iface.name)/\(ingress == 1 ? "ingress" : "egress")")
                }
            }
        }
        return cleaned
    }
}
