/* skb:kfree_skb (BTF-typed tracepoint): every packet the kernel frees with a drop reason, in every network
 * namespace (or only on watched interfaces). Reports the reason, device and IP/L4 headers read with CO-RE through
 * the shared ring buffer, rate-limited per reason; suppressed drops are counted per reason, never silently lost. */
#include "lib/common.bpf.h"
#include "lib/kernel_types.bpf.h"
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

#define SPY_PARSE_CTX const unsigned char *
#define SPY_LOAD(ctx, off, dst, len) bpf_probe_read_kernel(dst, len, (ctx) + (off))
#include "lib/parse.bpf.h"
#include "lib/conn.bpf.h"
#include "lib/emit.bpf.h"
#include "lib/l7.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Resolved by user space from the running kernel's BTF (numbers differ between kernels). */
const volatile __u32 cfg_reason_not_dropped = 0;
const volatile __u32 cfg_reason_consumed = 1;
/* Drop events per reason per second; 0 = unlimited. */
const volatile __u32 cfg_drop_rate = 1000;
/* 0: every network namespace; 1: only devices of `cfg_netns_inum` that are in spy_ifaces. */
const volatile __u32 cfg_watched_only = 0;
const volatile __u32 cfg_netns_inum = 0;

struct spy_drop_window {
    __u64 window_start_ns;
    __u64 in_window;
};

/* Per reason: the rate-limit window. */
struct {
    __uint(type, BPF_MAP_TYPE_LRU_HASH);
    __uint(max_entries, 1024);
    __type(key, __u32);
    __type(value, struct spy_drop_window);
} spy_drop_windows SEC(".maps");

/* Per reason: drops seen and drops suppressed by the rate limit (user space reads these for exact accounting). */
struct spy_drop_counts {
    __u64 seen;
    __u64 suppressed;
};
struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_HASH);
    __uint(max_entries, 1024);
    __type(key, __u32);
    __type(value, struct spy_drop_counts);
} spy_drop_counts SEC(".maps");

/* Shared with the tc programs (user space reuses the tc object's map). */
struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 4096);
    __type(key, __u32);
    __type(value, struct spy_iface_config);
} spy_ifaces SEC(".maps");

static __always_inline void spy_count_drop(__u32 reason, int suppressed)
{
    struct spy_drop_counts *c = bpf_map_lookup_elem(&spy_drop_counts, &reason);
    if (!c) {
        struct spy_drop_counts fresh = {};
        bpf_map_update_elem(&spy_drop_counts, &reason, &fresh, BPF_NOEXIST);
        c = bpf_map_lookup_elem(&spy_drop_counts, &reason);
        if (!c)
            return;
    }
    c->seen += 1;
    if (suppressed)
        c->suppressed += 1;
}

/* Fixed one-second windows per reason: cheap, and the rest of the window is counted as suppressed. */
static __always_inline int spy_rate_limited(__u32 reason, __u64 now)
{
    if (!cfg_drop_rate)
        return 0;
    struct spy_drop_window *w = bpf_map_lookup_elem(&spy_drop_windows, &reason);
    if (!w) {
        struct spy_drop_window fresh = {.window_start_ns = now, .in_window = 1};
        bpf_map_update_elem(&spy_drop_windows, &reason, &fresh, BPF_ANY);
        return 0;
    }
    if (now - w->window_start_ns >= 1000000000ULL) {
        w->window_start_ns = now;
        w->in_window = 1;
        return 0;
    }
    if (w->in_window >= cfg_drop_rate)
        return 1;
    w->in_window += 1;
    return 0;
}

static __always_inline int spy_handle_drop(struct sk_buff *skb, __u32 reason)
{
    if (reason == cfg_reason_not_dropped || reason == cfg_reason_consumed)
        return 0;

    struct net_device *dev = BPF_CORE_READ(skb, dev);
    __u32 ifindex = dev ? BPF_CORE_READ(dev, ifindex) : BPF_CORE_READ(skb, skb_iif);
    if (cfg_watched_only) {
        if (!dev || BPF_CORE_READ(dev, nd_net.net, ns.inum) != cfg_netns_inum)
            return 0;
        if (!bpf_map_lookup_elem(&spy_ifaces, &ifindex))
            return 0;
    }

    __u16 nh = BPF_CORE_READ(skb, network_header);
    __u16 mh = BPF_CORE_READ(skb, mac_header);
    __u32 tail = BPF_CORE_READ(skb, tail);
    unsigned char *head = BPF_CORE_READ(skb, head);
    if (nh == (__u16)~0U || !head || nh >= tail) {
        spy_stat_inc(SPY_STAT_DROP_NON_IP);
        return 0;
    }
    __u16 proto = bpf_ntohs(BPF_CORE_READ(skb, protocol));
    if (proto != SPY_ETH_P_IP && proto != SPY_ETH_P_IPV6) {
        /* Some paths free before skb->protocol is set: trust the IP version nibble. */
        __u8 v = 0;
        bpf_probe_read_kernel(&v, 1, head + nh);
        proto = (v >> 4) == 4 ? SPY_ETH_P_IP : (v >> 4) == 6 ? SPY_ETH_P_IPV6 : 0;
        if (!proto) {
            spy_stat_inc(SPY_STAT_DROP_NON_IP);
            return 0;
        }
    }

    /* The snapshot starts at the MAC header when there is one right before the IP header. */
    __u32 start = nh;
    if (mh != (__u16)~0U && mh < nh && nh - mh <= 18)
        start = mh;

    struct spy_pkt p = {};
    if (spy_parse_l3(head + start, nh - start, proto, &p) < 0) {
        spy_stat_inc(SPY_STAT_DROP_NON_IP);
        return 0;
    }

    __u64 now = bpf_ktime_get_boot_ns();
    int suppressed = spy_rate_limited(reason, now);
    spy_count_drop(reason, suppressed);
    if (suppressed) {
        spy_stat_inc(SPY_STAT_DROPS_SUPPRESSED);
        return 0;
    }

    struct spy_scratch *sc = spy_scratch_get();
    if (!sc)
        return 0;
    struct spy_packet_event *ev = &sc->ev;
    ev->hdr.version = SPY_EVENT_VERSION;
    ev->hdr.kind = SPY_EVENT_DROP;
    ev->hdr.header_len = sizeof(struct spy_packet_event);
    ev->timestamp_ns = now;
    ev->ifindex = ifindex;
    ev->pkt_len = BPF_CORE_READ(skb, len);
    __builtin_memcpy(ev->saddr, p.saddr, 16);
    __builtin_memcpy(ev->daddr, p.daddr, 16);
    ev->sport = p.sport;
    ev->dport = p.dport;
    ev->vlan_id = 0;
    ev->flags = p.flags;
    /* is_reply: from the connection state when the drop happens on a watched interface; for TCP the SYN tells. */
    if ((p.flags & SPY_F_L4_PRESENT) && p.proto == SPY_IPPROTO_TCP) {
        __u8 f = p.tcp_flags & (SPY_TCP_SYN | SPY_TCP_ACK);
        if (f == SPY_TCP_SYN)
            ev->flags |= SPY_F_REPLY_KNOWN;
        else if (f == (SPY_TCP_SYN | SPY_TCP_ACK))
            ev->flags |= SPY_F_REPLY_KNOWN | SPY_F_IS_REPLY;
    }
    if (!(ev->flags & SPY_F_REPLY_KNOWN))
        ev->flags |= spy_conn_reply_flags(&p, ifindex);
    ev->direction = 0xff;
    ev->obs_point = SPY_OBS_UNKNOWN;
    ev->ip_version = p.ip_version;
    ev->l4_proto = p.proto;
    ev->tcp_flags = p.tcp_flags;
    ev->icmp_type = p.icmp_type;
    ev->icmp_code = p.icmp_code;
    ev->report_reason = SPY_REPORT_EVERY_PACKET;
    ev->l3_offset = p.l3_off;
    ev->l4_offset = p.l4_off;
    ev->drop_reason = reason;
    ev->cpu = bpf_get_smp_processor_id();
    ev->aggregated = 1;
    ev->aggregated_bytes = ev->pkt_len;

    /* A dropped DNS query keeps enough payload to be parsed (Hubble counts it in hubble_dns_queries_total). */
    int l7 = spy_l7_candidate(head + start, &p);
    if (l7)
        ev->flags |= SPY_F_L7_CANDIDATE;
    __u32 snap = tail - start;
    __u32 limit = l7 ? cfg_l7_snap_len : cfg_snap_len;
    if (snap > limit)
        snap = limit;
    if (snap > SPY_MAX_SNAP_LEN)
        snap = SPY_MAX_SNAP_LEN;
    if (snap > 0 && bpf_probe_read_kernel(sc->data, snap, head + start) < 0)
        snap = 0;
    spy_output(sc, snap);
    return 0;
}

SEC("tp_btf/kfree_skb")
int BPF_PROG(spy_kfree_skb, struct sk_buff *skb, void *location, int reason)
{
    return spy_handle_drop(skb, (__u32)reason);
}

/* Kernels before 5.17 have no reason argument: drops are still reported, with reason unknown (2 = "not
 * specified" is never assumed: user space sets cfg_reason_* so that 0xffffffff passes the filter). */
SEC("tp_btf/kfree_skb")
int BPF_PROG(spy_kfree_skb_noreason, struct sk_buff *skb, void *location)
{
    return spy_handle_drop(skb, 0xffffffff);
}
