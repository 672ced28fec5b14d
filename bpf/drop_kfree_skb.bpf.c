/* skb:kfree_skb (BTF-typed tracepoint): every packet the kernel frees with a drop reason, in every network
 * namespace (or only on watched interfaces). Each reason has a class decided in user space (drop, socket, benign;
 * DropClassification.swift); every free is counted per (reason, class), and only the classes the user reports reach
 * the ring buffer, rate-limited per reason. Every read of the packet is bounded by the skb's linear data and a
 * validated network header: a frame that cannot be parsed is counted by why, never reported. */
#include "lib/common.bpf.h"
#include "lib/kernel_types.bpf.h"
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

/* The parser reads through a window [base, base + len) of the skb's linear data: nothing outside it. (The address
 * is an integer so that the struct can be an argument of the separately verified spy_drop_parse_l3.) */
struct spy_drop_window_ctx {
    __u64 base;
    __u32 len;
    __u32 pad;
};

static __always_inline long spy_drop_load(const struct spy_drop_window_ctx *c, __u32 off, void *dst, __u32 len)
{
    if (off > c->len || len > c->len - off)
        return -1;
    return bpf_probe_read_kernel(dst, len, (const void *)(unsigned long)(c->base + off));
}

#define SPY_PARSE_CTX const struct spy_drop_window_ctx *
#define SPY_LOAD(ctx, off, dst, len) spy_drop_load(ctx, off, dst, len)
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

/* Class and report decision of reasons absent from spy_drop_rules (a reason user space did not know). */
const volatile __u32 cfg_default_class = SPY_DROP_CLASS_DROP;
const volatile __u32 cfg_default_report = 1;
/* NO_SOCKET for an ICMP echo reply: the reply reached ping's raw socket (or nobody waits for it); class benign. */
const volatile __u32 cfg_reason_no_socket = 0xfffffffe;
const volatile __u32 cfg_benign_report = 0;

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

/* Per reason, written by user space before attaching: its class and whether it is reported. */
struct spy_drop_rule {
    __u8 cls;
    __u8 report;
    __u8 multicast_benign; /* to a multicast/broadcast address, this reason means "no one here listens": benign */
    __u8 pad;
};
struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 1024);
    __type(key, __u32);
    __type(value, struct spy_drop_rule);
} spy_drop_rules SEC(".maps");

/* Per (reason, class): frees seen (every class) and reported drops suppressed by the rate limit. */
struct spy_drop_key {
    __u32 reason;
    __u32 cls;
};
struct spy_drop_counts {
    __u64 seen;
    __u64 suppressed;
};
struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_HASH);
    __uint(max_entries, 2048);
    __type(key, struct spy_drop_key);
    __type(value, struct spy_drop_counts);
} spy_drop_counts SEC(".maps");

/* Reported drops that could not be parsed, by enum spy_drop_unparsed. */
struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, SPY_DROP_UNPARSED_COUNT);
    __type(key, __u32);
    __type(value, __u64);
} spy_drop_unparsed SEC(".maps");

/* Shared with the tc programs (user space reuses the tc object's map). */
struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 4096);
    __type(key, __u32);
    __type(value, struct spy_iface_config);
} spy_ifaces SEC(".maps");

static __always_inline void spy_count_drop(__u32 reason, __u32 cls, int suppressed)
{
    struct spy_drop_key key = {.reason = reason, .cls = cls};
    struct spy_drop_counts *c = bpf_map_lookup_elem(&spy_drop_counts, &key);
    if (!c) {
        struct spy_drop_counts fresh = {};
        bpf_map_update_elem(&spy_drop_counts, &key, &fresh, BPF_NOEXIST);
        c = bpf_map_lookup_elem(&spy_drop_counts, &key);
        if (!c)
            return;
    }
    c->seen += 1;
    if (suppressed)
        c->suppressed += 1;
}

static __always_inline void spy_count_unparsed(__u32 why)
{
    __u64 *v = bpf_map_lookup_elem(&spy_drop_unparsed, &why);
    if (v)
        *v += 1;
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

static __always_inline struct spy_iface_config *spy_watched_iface(struct net_device *dev, __u32 ifindex)
{
    if (!dev || BPF_CORE_READ(dev, nd_net.net, ns.inum) != cfg_netns_inum)
        return 0;
    return bpf_map_lookup_elem(&spy_ifaces, &ifindex);
}

static __always_inline int spy_to_multicast(const struct spy_pkt *p)
{
    const __u8 *d = (const __u8 *)p->daddr;
    if (p->ip_version == 6)
        return d[0] == 0xff;
    return (d[0] & 0xf0) == 0xe0 || (d[0] == 0xff && d[1] == 0xff && d[2] == 0xff && d[3] == 0xff);
}

/* A global function is verified once, on its own, instead of once per path of its caller: inlined, the parse
 * brought the drop program near the verifier's instruction limit in some configurations. */
__attribute__((noinline)) int spy_drop_parse_l3(const struct spy_drop_window_ctx *ctx, __u32 off, __u32 proto,
                                                struct spy_pkt *p)
{
    if (!ctx || !p)
        return -1;
    return spy_parse_l3(ctx, off, (__u16)proto, p);
}

/* Where the parsed frame lies in the skb's linear data. */
struct spy_drop_frame {
    const unsigned char *head;
    __u32 start; /* snapshot start: the MAC header when one sits right before the IP header, else the IP header */
    __u32 nh;    /* validated network header offset */
    __u32 tail;  /* end of the linear data (offset from head) */
};

/* Validates the network header against the skb's linear data and parses from it. Returns -1 when parsed, else
 * the enum spy_drop_unparsed why. */
static __always_inline int spy_drop_parse(struct sk_buff *skb, struct spy_drop_frame *f, struct spy_pkt *p)
{
    __u16 nh = BPF_CORE_READ(skb, network_header);
    __u16 mh = BPF_CORE_READ(skb, mac_header);
    __u32 tail = BPF_CORE_READ(skb, tail);
    __u32 end = BPF_CORE_READ(skb, end);
    unsigned char *head = BPF_CORE_READ(skb, head);
    unsigned char *data = BPF_CORE_READ(skb, data);
    if (!head || !data || data < head)
        return SPY_DROP_UNPARSED_OUTSIDE_PACKET;
    /* A network header never reset keeps its initial 0, which lies in the reserved headroom before the data. */
    if (nh == (__u16)~0U || (nh == 0 && data != head))
        return SPY_DROP_UNPARSED_NO_NETWORK_HEADER;
    if (tail > end || nh >= tail)
        return SPY_DROP_UNPARSED_OUTSIDE_PACKET;

    __u8 v = 0;
    if (bpf_probe_read_kernel(&v, 1, head + nh) < 0)
        return SPY_DROP_UNPARSED_OUTSIDE_PACKET;
    __u8 version = v >> 4;
    __u16 proto = bpf_ntohs(BPF_CORE_READ(skb, protocol));
    if (proto == SPY_ETH_P_IP || proto == SPY_ETH_P_IPV6) {
        if ((proto == SPY_ETH_P_IP) != (version == 4) || (proto == SPY_ETH_P_IPV6) != (version == 6))
            return SPY_DROP_UNPARSED_BAD_IP_HEADER;
    } else if (version == 4 || version == 6) {
        /* Some paths free before skb->protocol is set: the version nibble decides, the checks below confirm. */
        proto = version == 4 ? SPY_ETH_P_IP : SPY_ETH_P_IPV6;
    } else {
        return SPY_DROP_UNPARSED_NOT_IP;
    }
    __u32 ip_len = proto == SPY_ETH_P_IP ? (__u32)(v & 0x0f) * 4 : 40;
    if (ip_len < 20)
        return SPY_DROP_UNPARSED_BAD_IP_HEADER;
    if (nh + ip_len > tail)
        return SPY_DROP_UNPARSED_TRUNCATED_IP;

    __u32 start = nh;
    if (mh != (__u16)~0U && mh < nh && nh - mh <= 18)
        start = mh;
    struct spy_drop_window_ctx ctx = {.base = (__u64)(unsigned long)(head + start), .len = tail - start};
    if (spy_drop_parse_l3(&ctx, nh - start, proto, p) < 0)
        return SPY_DROP_UNPARSED_NOT_IP;
    f->head = head;
    f->start = start;
    f->nh = nh;
    f->tail = tail;
    return -1;
}

static __always_inline int spy_is_echo_reply(const struct spy_pkt *p)
{
    if (!(p->flags & SPY_F_L4_PRESENT))
        return 0;
    return (p->proto == SPY_IPPROTO_ICMP && p->icmp_type == 0) ||
           (p->proto == SPY_IPPROTO_ICMPV6 && p->icmp_type == 129);
}

static __always_inline int spy_handle_drop(struct sk_buff *skb, __u32 reason)
{
    if (reason == cfg_reason_not_dropped || reason == cfg_reason_consumed)
        return 0;

    struct net_device *dev = BPF_CORE_READ(skb, dev);
    __u32 ifindex = dev ? BPF_CORE_READ(dev, ifindex) : BPF_CORE_READ(skb, skb_iif);
    /* The watched interface (agent's namespace) the drop happened on, if any; looked up here only to scope. */
    struct spy_iface_config *iface = 0;
    if (cfg_watched_only) {
        iface = spy_watched_iface(dev, ifindex);
        if (!iface)
            return 0;
    }

    __u32 cls = cfg_default_class;
    int report = cfg_default_report;
    int multicast_benign = 0;
    struct spy_drop_rule *rule = bpf_map_lookup_elem(&spy_drop_rules, &reason);
    if (rule) {
        cls = rule->cls;
        report = rule->report;
        multicast_benign = rule->multicast_benign;
    }

    /* Frames are parsed only when they may be reported (or may change class): non-drops cost a lookup and a count. */
    struct spy_pkt p = {};
    struct spy_drop_frame f = {};
    int why = SPY_DROP_UNPARSED_COUNT;
    if (report || reason == cfg_reason_no_socket || multicast_benign) {
        why = spy_drop_parse(skb, &f, &p);
        /* Delivered anyway or meant for no one: the echo reply ping's raw socket got before the ping-socket lookup
         * failed, and multicast/broadcast nobody here listens to. */
        if (why < 0 && ((reason == cfg_reason_no_socket && spy_is_echo_reply(&p)) ||
                        (multicast_benign && spy_to_multicast(&p)))) {
            cls = SPY_DROP_CLASS_BENIGN;
            report = cfg_benign_report;
        }
    }
    if (!report) {
        spy_count_drop(reason, cls, 0);
        return 0;
    }
    if (why >= 0) {
        spy_count_drop(reason, cls, 0);
        spy_count_unparsed(why);
        if (why == SPY_DROP_UNPARSED_NOT_IP)
            spy_stat_inc(SPY_STAT_DROP_NON_IP);
        return 0;
    }

    __u64 now = bpf_ktime_get_boot_ns();
    int suppressed = spy_rate_limited(reason, now);
    spy_count_drop(reason, cls, suppressed);
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
        __u8 tf = p.tcp_flags & (SPY_TCP_SYN | SPY_TCP_ACK);
        if (tf == SPY_TCP_SYN)
            ev->flags |= SPY_F_REPLY_KNOWN;
        else if (tf == (SPY_TCP_SYN | SPY_TCP_ACK))
            ev->flags |= SPY_F_REPLY_KNOWN | SPY_F_IS_REPLY;
    }
    if (!(ev->flags & SPY_F_REPLY_KNOWN))
        ev->flags |= spy_conn_reply_flags(&p, ifindex);
    /* Receive path: the skb is on the device it arrived on (skb_iif is set when a device receives it and kept when
     * it is forwarded, while skb->dev then becomes the output device; locally sent packets have skb_iif 0). */
    int rx = dev && (__u32)BPF_CORE_READ(skb, skb_iif) == ifindex;
    ev->direction = rx ? SPY_DIR_INGRESS : SPY_DIR_EGRESS;
    /* On a watched interface of the agent's namespace its observation point tells the endpoint's side (user space
     * derives traffic_direction from it as for traces; drop flows themselves carry no observation point). */
    if (!cfg_watched_only)
        iface = spy_watched_iface(dev, ifindex);
    ev->obs_point = iface ? (rx ? iface->ingress_point : iface->egress_point) : SPY_OBS_UNKNOWN;
    ev->ip_version = p.ip_version;
    ev->l4_proto = p.proto;
    ev->tcp_flags = p.tcp_flags;
    ev->icmp_type = spy_pkt_icmp_type(&p);
    ev->icmp_code = spy_pkt_icmp_code(&p);
    ev->report_reason = SPY_REPORT_EVERY_PACKET;
    ev->l3_offset = p.l3_off;
    ev->l4_offset = p.l4_off;
    ev->drop_reason = reason;
    ev->cpu = bpf_get_smp_processor_id();
    ev->aggregated = 1;
    ev->aggregated_bytes = ev->pkt_len;

    /* A dropped DNS query keeps enough payload to be parsed (Hubble counts it in hubble_dns_queries_total). */
    struct spy_drop_window_ctx ctx = {.base = (__u64)(unsigned long)(f.head + f.start), .len = f.tail - f.start};
    int l7 = spy_l7_candidate(&ctx, &p);
    if (l7)
        ev->flags |= SPY_F_L7_CANDIDATE;
    /* The snapshot never reaches past the linear data (f.tail): no bytes that are not the packet's. */
    __u32 snap = f.tail - f.start;
    __u32 limit = l7 ? cfg_l7_snap_len : cfg_snap_len;
    if (snap > limit)
        snap = limit;
    if (snap > SPY_MAX_SNAP_LEN)
        snap = SPY_MAX_SNAP_LEN;
    if (snap > 0 && bpf_probe_read_kernel(sc->data, snap, f.head + f.start) < 0)
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
