/* tc (clsact) ingress and egress programs: parse the packet, keep per-connection state, and report new
 * connections, new TCP flags and periodic updates (monitor aggregation "medium") or every packet ("none").
 * Traffic is never altered or dropped: both programs always return TC_ACT_UNSPEC. */
#include "lib/common.bpf.h"

/* Headers are read straight from the packet when they lie in its linear part (almost always: a helper call per
 * header cost ~15 ns each), and through bpf_skb_load_bytes otherwise, so non-linear skbs parse the same way. */
static __always_inline int spy_tc_load(struct __sk_buff *skb, __u32 off, void *dst, __u32 len)
{
    void *data = (void *)(long)skb->data;
    void *end = (void *)(long)skb->data_end;
    if (off <= 1024) {
        void *at = data + off;
        if (at + len <= end) {
            __builtin_memcpy(dst, at, len);
            return 0;
        }
    }
    return bpf_skb_load_bytes(skb, off, dst, len);
}

#define SPY_PARSE_CTX struct __sk_buff *
#define SPY_LOAD(ctx, off, dst, len) spy_tc_load(ctx, off, dst, len)
#define SPY_PARSE_ETHERNET
#include "lib/parse.bpf.h"
#include "lib/conn.bpf.h"
#include "lib/emit.bpf.h"
#include "lib/l7.bpf.h"
#include "lib/conn_cache.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Observation points per interface; missing entries mean an uplink (from/to-network). */
struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 4096);
    __type(key, __u32);
    __type(value, struct spy_iface_config);
} spy_ifaces SEC(".maps");

/* The node's own addresses (key: 16 bytes, IPv4 in the first 4), written by user space: a packet addressed to the
 * node is delivered to its stack, where no hook sees it again, so its receive-side report is never suppressed. */
struct spy_addr_key {
    __u8 addr[16];
};

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 1024);
    __type(key, struct spy_addr_key);
    __type(value, __u8);
} spy_host_addrs SEC(".maps");

/* One observation per packet per node (monitor aggregation >= low): a packet entering an interface flagged
 * SPY_IFACE_F_SUPPRESS_INGRESS is also seen where it leaves (user space sets the flag only when those points are
 * watched), unless the node itself is its destination. Only paid for packets about to be reported. */
static __always_inline int spy_suppress_ingress(const struct spy_iface_config *ic, const struct spy_pkt *p)
{
    if (!cfg_aggregation || !ic || !(ic->flags & SPY_IFACE_F_SUPPRESS_INGRESS))
        return 0;
    struct spy_addr_key key;
    __builtin_memcpy(key.addr, p->daddr, 16);
    /* Multicast (and IPv4 limited broadcast) reach the node's stack too. */
    if ((p->ip_version == 4 && key.addr[0] >= 224) || (p->ip_version == 6 && key.addr[0] == 0xff))
        return 0;
    return bpf_map_lookup_elem(&spy_host_addrs, &key) == 0;
}

/* The event of a reported packet. Out of line (a BPF-to-BPF call): under real traffic the program's cost is mostly
 * cache misses on its own code, and a folded packet then runs through a few cache lines instead of the whole. */
static __noinline int spy_report(struct __sk_buff *skb, __u8 direction, struct spy_pkt *p, struct spy_decision *d,
                                 int l7)
{
    __u32 ifindex = skb->ifindex;
    struct spy_iface_config *ic = bpf_map_lookup_elem(&spy_ifaces, &ifindex);
    if (cfg_aggregation && ic && ic->tunnel_port && p->proto == SPY_IPPROTO_UDP && p->dport == ic->tunnel_port) {
        spy_stat_inc(SPY_STAT_TUNNEL_SKIPPED);
        return TC_ACT_UNSPEC;
    }
    if (direction == SPY_DIR_INGRESS && spy_suppress_ingress(ic, p)) {
        if (!l7) {
            spy_stat_inc(SPY_STAT_RX_SUPPRESSED);
            return TC_ACT_UNSPEC;
        }
        /* The L7 parser still needs this packet (its exchange may be owned by this interface). */
        d->reason = SPY_REPORT_L7;
        d->flags |= SPY_F_L7_ONLY;
        d->folded_packets = 0;
        d->folded_bytes = 0;
    }

    struct spy_scratch *sc = spy_scratch_get();
    if (!sc)
        return TC_ACT_UNSPEC;
    struct spy_packet_event *ev = &sc->ev;
    ev->hdr.version = SPY_EVENT_VERSION;
    ev->hdr.kind = SPY_EVENT_TRACE;
    ev->hdr.header_len = sizeof(struct spy_packet_event);
    ev->timestamp_ns = bpf_ktime_get_boot_ns(); /* precise, and only paid for reported packets */
    ev->ifindex = skb->ifindex;
    ev->pkt_len = skb->len;
    __builtin_memcpy(ev->saddr, p->saddr, 16);
    __builtin_memcpy(ev->daddr, p->daddr, 16);
    ev->sport = p->sport;
    ev->dport = p->dport;
    ev->vlan_id = p->vlan_id;
    ev->flags = p->flags | d->flags | (l7 ? SPY_F_L7_CANDIDATE : 0);
    ev->direction = direction;
    if (ic)
        ev->obs_point = direction == SPY_DIR_INGRESS ? ic->ingress_point : ic->egress_point;
    else
        ev->obs_point = direction == SPY_DIR_INGRESS ? SPY_OBS_FROM_NETWORK : SPY_OBS_TO_NETWORK;
    ev->ip_version = p->ip_version;
    ev->l4_proto = p->proto;
    ev->tcp_flags = p->tcp_flags;
    ev->icmp_type = spy_pkt_icmp_type(p);
    ev->icmp_code = spy_pkt_icmp_code(p);
    ev->report_reason = d->reason;
    ev->l3_offset = p->l3_off;
    ev->l4_offset = p->l4_off;
    ev->drop_reason = 0;
    ev->cpu = bpf_get_smp_processor_id();
    ev->aggregated = d->folded_packets;
    ev->aggregated_bytes = d->folded_bytes;
    __u32 snap = skb->len;
    __u32 limit = l7 ? cfg_l7_snap_len : cfg_snap_len;
    if (snap > limit)
        snap = limit;
    if (snap > SPY_MAX_SNAP_LEN)
        snap = SPY_MAX_SNAP_LEN;
    if (snap > 0) {
        /* The helper's length must be provably non-zero, and 6.1's verifier learns no lower bound from
         * `snap != 0` (scripts/kernel-vm.sh): restate it as 1 + ((snap - 1) & (max - 1)), exact for 1..max. */
        _Static_assert((SPY_MAX_SNAP_LEN & (SPY_MAX_SNAP_LEN - 1)) == 0, "the mask needs a power of two");
        __u32 len = snap - 1;
        barrier_var(len);
        len = (len & (SPY_MAX_SNAP_LEN - 1)) + 1;
        if (bpf_skb_load_bytes(skb, 0, sc->data, len) < 0)
            snap = 0;
    }
    spy_output(sc, snap);
    return TC_ACT_UNSPEC;
}

static __always_inline int spy_handle(struct __sk_buff *skb, __u8 direction)
{
    struct spy_pkt p = {};
    struct spy_decision d = {};
    int l7 = 0;
    __u64 now = spy_interval_clock();

    spy_stat_inc(SPY_STAT_PACKETS);
    if (spy_parse(skb, &p) < 0) {
        spy_stat_inc(SPY_STAT_NON_IP);
        return TC_ACT_UNSPEC;
    }

    if (p.flags & SPY_F_TRUNCATED) {
        d.report = 1;
        d.reason = SPY_REPORT_NO_STATE;
        d.folded_packets = 1;
        d.folded_bytes = skb->len;
    } else {
        spy_conn_decide(&p, skb->ifindex, skb->len, now, spy_l7_http_start(skb, &p), &d);
        l7 = d.l7;
    }
    if (!d.report) {
        spy_stat_inc(SPY_STAT_AGGREGATED);
        return TC_ACT_UNSPEC;
    }
    return spy_report(skb, direction, &p, &d, l7);
}

SEC("tc")
int spy_tc_ingress(struct __sk_buff *skb)
{
    return spy_handle(skb, SPY_DIR_INGRESS);
}

SEC("tc")
int spy_tc_egress(struct __sk_buff *skb)
{
    return spy_handle(skb, SPY_DIR_EGRESS);
}
