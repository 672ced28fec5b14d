/* Per-connection state and monitor aggregation. One LRU entry per normalised 5-tuple and interface remembers
 * which side opened the connection (so every event carries is_reply), the TCP flags seen per direction and the
 * last report time per direction. spy_conn_decide() says whether a packet is reported or folded. */
#pragma once
#include "parse.bpf.h"

struct spy_conn_key {
    __u64 a_addr[2]; /* the lower (address, port) side */
    __u64 b_addr[2];
    __u16 a_port, b_port;
    __u32 ifindex;   /* state is per observation interface, as Cilium's per-endpoint conntrack */
    __u8 proto;
    __u8 family;
    __u8 pad[6];
};

struct spy_conn_state {
    __u64 last_report_ns[2]; /* per sending side (0 = a, 1 = b) */
    __u64 folded_bytes[2];   /* bytes folded since the last report, per side */
    __u32 folded_packets[2];
    __u8 flags_seen[2];
    __u8 origin;             /* side that opened the connection */
    __u8 origin_known;
    __u16 owner[2];          /* per side: 1 + the CPU whose connection cache may hold folded packets (0: none) */
    __u32 gen;               /* spy_conn_epoch when created: tells a replaced connection from its successor */
};

struct {
    __uint(type, BPF_MAP_TYPE_LRU_HASH);
    __uint(max_entries, 65536);
    __type(key, struct spy_conn_key);
    __type(value, struct spy_conn_state);
} spy_conns SEC(".maps");

struct spy_decision {
    __u8 report;
    __u8 reason;
    __u16 flags;            /* SPY_F_IS_REPLY / SPY_F_REPLY_KNOWN / SPY_F_NEW_CONNECTION */
    __u8 l7;                /* the packet carries L7 payload (spy_l7_candidate) */
    __u32 folded_packets;   /* packets this report stands for, including this one */
    __u64 folded_bytes;
};

static __always_inline int spy_side_of(const struct spy_pkt *p)
{
    /* Any total order works as long as both directions agree on it. */
    if (p->saddr[0] != p->daddr[0])
        return p->saddr[0] > p->daddr[0];
    if (p->saddr[1] != p->daddr[1])
        return p->saddr[1] > p->daddr[1];
    return p->sport > p->dport;
}

/* Origin of a new connection, from the first packet seen of it. */
static __always_inline void spy_conn_origin(const struct spy_pkt *p, int side, struct spy_conn_state *st)
{
    st->origin = side;
    st->origin_known = 1;
    if (!(p->flags & SPY_F_L4_PRESENT))
        return;
    if (p->proto == SPY_IPPROTO_TCP) {
        __u8 f = p->tcp_flags & (SPY_TCP_SYN | SPY_TCP_ACK);
        if (f == (SPY_TCP_SYN | SPY_TCP_ACK))
            st->origin = !side; /* we missed the SYN: the receiver of the SYN-ACK opened it */
        else if (f != SPY_TCP_SYN)
            st->origin_known = 0; /* mid-stream: who opened it is unknown */
    } else if (p->proto == SPY_IPPROTO_ICMP) {
        if (p->icmp_type == 0)
            st->origin = !side; /* echo reply */
        else if (p->icmp_type != 8)
            st->origin_known = 0; /* errors and others: no request/response pairing */
    } else if (p->proto == SPY_IPPROTO_ICMPV6) {
        if (p->icmp_type == 129)
            st->origin = !side;
        else if (p->icmp_type != 128)
            st->origin_known = 0;
    }
}

/* Fills the normalised key of a packet; returns the sending side (0 = a, 1 = b). */
static __always_inline int spy_conn_key(const struct spy_pkt *p, __u32 ifindex, struct spy_conn_key *key)
{
    int side = spy_side_of(p);
    if (side) {
        __builtin_memcpy(key->a_addr, p->daddr, 16);
        __builtin_memcpy(key->b_addr, p->saddr, 16);
        key->a_port = p->dport;
        key->b_port = p->sport;
    } else {
        __builtin_memcpy(key->a_addr, p->saddr, 16);
        __builtin_memcpy(key->b_addr, p->daddr, 16);
        key->a_port = p->sport;
        key->b_port = p->dport;
    }
    key->ifindex = ifindex;
    key->proto = p->proto;
    key->family = p->ip_version;
    return side;
}

/* is_reply flags from existing connection state, without creating any (used by the drop program). */
static __always_inline __u16 spy_conn_reply_flags(const struct spy_pkt *p, __u32 ifindex)
{
    struct spy_conn_key key = {};
    int side = spy_conn_key(p, ifindex, &key);
    struct spy_conn_state *st = bpf_map_lookup_elem(&spy_conns, &key);
    if (!st || !st->origin_known)
        return 0;
    return SPY_F_REPLY_KNOWN | (st->origin != side ? SPY_F_IS_REPLY : 0);
}

/* Bumped whenever a connection's state is created or replaced; a new state's gen is the bumped value. */
static volatile __u64 spy_conn_epoch;

static __always_inline int spy_conn_is_syn(const struct spy_pkt *p)
{
    return p->proto == SPY_IPPROTO_TCP && (p->flags & SPY_F_L4_PRESENT) &&
           (p->tcp_flags & (SPY_TCP_SYN | SPY_TCP_ACK)) == SPY_TCP_SYN;
}

/* Decides for a packet of `key` sent by `side`, given the state looked up for it (`st`, NULL if none). Returns 0 if
 * no state could be stored, else 1 with `*created` set when the state is now `fresh` (else it is `st`). `owner` goes
 * into a fresh state's owner[side] (see conn_cache.bpf.h). `force`: report whatever the aggregation says (L7
 * payload), with reason SPY_REPORT_L7. */
static __always_inline int
spy_conn_apply(const struct spy_pkt *p, const struct spy_conn_key *key, int side, __u32 len, __u64 now, int force,
               struct spy_conn_state *st, struct spy_conn_state *fresh, __u16 owner, int *created,
               struct spy_decision *d)
{
    d->folded_packets = 1;
    d->folded_bytes = len;

    /* A SYN from the other side, or after FIN/RST, starts a new connection on the same tuple. */
    if (st && spy_conn_is_syn(p) &&
        (st->origin != side || ((st->flags_seen[0] | st->flags_seen[1]) & (SPY_TCP_FIN | SPY_TCP_RST))))
        st = 0;

    if (!st) {
        __builtin_memset(fresh, 0, sizeof(*fresh));
        spy_conn_origin(p, side, fresh);
        /* Constant indexes: a variable one into a stack object becomes a pointer OR the verifier refuses. */
        if (side & 1) {
            fresh->flags_seen[1] = p->tcp_flags;
            fresh->last_report_ns[1] = now;
            fresh->owner[1] = owner;
        } else {
            fresh->flags_seen[0] = p->tcp_flags;
            fresh->last_report_ns[0] = now;
            fresh->owner[0] = owner;
        }
        fresh->gen = __sync_fetch_and_add(&spy_conn_epoch, 1) + 1;
        if (bpf_map_update_elem(&spy_conns, key, fresh, BPF_ANY) < 0) {
            spy_stat_inc(SPY_STAT_CONN_TABLE_FULL);
            d->report = 1;
            d->reason = SPY_REPORT_NO_STATE;
            return 0;
        }
        *created = 1;
        d->report = 1;
        d->reason = cfg_aggregation ? SPY_REPORT_NEW_CONNECTION : SPY_REPORT_EVERY_PACKET;
        d->flags = SPY_F_NEW_CONNECTION;
        if (fresh->origin_known)
            d->flags |= SPY_F_REPLY_KNOWN | (fresh->origin != side ? SPY_F_IS_REPLY : 0);
        return 1;
    }

    int s = side & 1;
    if (st->origin_known)
        d->flags = SPY_F_REPLY_KNOWN | (st->origin != side ? SPY_F_IS_REPLY : 0);

    __u8 new_flags = p->tcp_flags & cfg_report_flags & ~st->flags_seen[s];
    st->flags_seen[s] |= p->tcp_flags;

    if (!cfg_aggregation) {
        d->report = 1;
        d->reason = SPY_REPORT_EVERY_PACKET;
    } else if (new_flags) {
        d->report = 1;
        d->reason = SPY_REPORT_NEW_TCP_FLAGS;
    } else if (now - st->last_report_ns[s] >= cfg_interval_ns) {
        d->report = 1;
        d->reason = SPY_REPORT_INTERVAL;
    } else if (force) {
        /* Aggregation folds this packet as a trace, but its payload is L7: send it for the L7 parser only. The
         * packet stays folded, so the next trace report counts it. */
        d->report = 1;
        d->reason = SPY_REPORT_L7;
        d->flags |= SPY_F_L7_ONLY;
        d->folded_packets = 0;
        d->folded_bytes = 0;
        st->folded_packets[s] += 1;
        st->folded_bytes[s] += len;
        return 1;
    }

    if (d->report) {
        d->folded_packets = st->folded_packets[s] + 1;
        d->folded_bytes = st->folded_bytes[s] + len;
        st->folded_packets[s] = 0;
        st->folded_bytes[s] = 0;
        st->last_report_ns[s] = now;
    } else {
        st->folded_packets[s] += 1;
        st->folded_bytes[s] += len;
    }
    return 1;
}
