/* Which packets carry L7 (DNS, HTTP) and must always be reported, whatever the aggregation level: TCP/UDP
 * payload on a port of the `spy_l7_ports` map, or (cfg_http_detect) a TCP payload that starts like an HTTP
 * request or status line on any port. */
#pragma once
#include "parse.bpf.h"

#define SPY_WORD(a, b, c, d) (((__u32)(a) << 24) | ((__u32)(b) << 16) | ((__u32)(c) << 8) | (__u32)(d))

static __always_inline int spy_l7_has_payload(const struct spy_pkt *p)
{
    return p->payload_off && p->payload_len && (p->proto == SPY_IPPROTO_TCP || p->proto == SPY_IPPROTO_UDP);
}

/* Whether the ports of a TCP/UDP packet are L7 ports (spy_l7_ports), payload or not: a property of its connection,
 * so the tc program's connection cache remembers it. */
static __always_inline int spy_l7_port(const struct spy_pkt *p)
{
    if (p->proto != SPY_IPPROTO_TCP && p->proto != SPY_IPPROTO_UDP)
        return 0;
    __u32 sport = p->sport, dport = p->dport;
    __u8 *kind = bpf_map_lookup_elem(&spy_l7_ports, &dport);
    if (kind && *kind)
        return 1;
    kind = bpf_map_lookup_elem(&spy_l7_ports, &sport);
    return kind && *kind;
}

/* cfg_http_detect: a TCP payload that starts like an HTTP request or status line, on any port. */
static __always_inline int spy_l7_http_start(SPY_PARSE_CTX ctx, const struct spy_pkt *p)
{
    if (!cfg_http_detect || p->proto != SPY_IPPROTO_TCP || !p->payload_off || p->payload_len < 4)
        return 0;
    __u8 b[4];
    if (SPY_LOAD(ctx, p->payload_off, b, sizeof(b)) < 0)
        return 0;
    switch (SPY_WORD(b[0], b[1], b[2], b[3])) {
    case SPY_WORD('G', 'E', 'T', ' '):
    case SPY_WORD('P', 'O', 'S', 'T'):
    case SPY_WORD('P', 'U', 'T', ' '):
    case SPY_WORD('H', 'E', 'A', 'D'):
    case SPY_WORD('D', 'E', 'L', 'E'):
    case SPY_WORD('P', 'A', 'T', 'C'):
    case SPY_WORD('O', 'P', 'T', 'I'):
    case SPY_WORD('C', 'O', 'N', 'N'):
    case SPY_WORD('T', 'R', 'A', 'C'):
    case SPY_WORD('H', 'T', 'T', 'P'):
        return 1;
    }
    return 0;
}

static __always_inline int spy_l7_candidate(SPY_PARSE_CTX ctx, const struct spy_pkt *p)
{
    return spy_l7_has_payload(p) && (spy_l7_port(p) || spy_l7_http_start(ctx, p));
}

/* Counted HTTP bodies user space skips by count (HTTPStream.lose), per direction of a TCP connection: a segment
 * wholly inside one is no L7 candidate (no event at `medium`, a plain trace at `none`), so a large response or
 * upload costs a few events instead of one per segment. Written by user space, bounded by LRU eviction. A segment
 * that reaches the body's end stays a candidate: it may start the next message. */
struct {
    __uint(type, BPF_MAP_TYPE_LRU_HASH);
    __uint(max_entries, 16384);
    __type(key, struct spy_l7_skip_key);
    __type(value, struct spy_l7_skip_value);
} spy_l7_skip SEC(".maps");

/* Keys are built in a per-CPU slot, not on the stack: with them there, the tc program's two deepest frames took
 * 544 bytes on Debian 12's 6.1 (limit 512; scripts/kernel-vm.sh). */
struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct spy_l7_skip_key);
} spy_l7_skip_keys SEC(".maps");

static __always_inline struct spy_l7_skip_key *spy_l7_skip_key_of(const struct spy_pkt *p, int reverse)
{
    __u32 zero = 0;
    struct spy_l7_skip_key *k = bpf_map_lookup_elem(&spy_l7_skip_keys, &zero);
    if (!k)
        return 0;
    if (reverse) {
        __builtin_memcpy(k->saddr, p->daddr, 16);
        __builtin_memcpy(k->daddr, p->saddr, 16);
        k->sport = p->dport;
        k->dport = p->sport;
    } else {
        __builtin_memcpy(k->saddr, p->saddr, 16);
        __builtin_memcpy(k->daddr, p->daddr, 16);
        k->sport = p->sport;
        k->dport = p->dport;
    }
    k->family = p->ip_version;
    k->pad[0] = k->pad[1] = k->pad[2] = 0;
    return k;
}

/* Whether a TCP L7 candidate lies wholly inside its direction's skipped body (counted). Only candidates pay the
 * lookup. The window [from_seq, end_seq) keeps a misplaced entry (a stale one of a reused 4-tuple, or one
 * written after the stream moved on) from hiding bytes outside it. */
static __always_inline int spy_l7_body_only(const struct spy_pkt *p)
{
    if (p->proto != SPY_IPPROTO_TCP || !p->payload_len)
        return 0;
    struct spy_l7_skip_key *k = spy_l7_skip_key_of(p, 0);
    if (!k)
        return 0;
    struct spy_l7_skip_value *v = bpf_map_lookup_elem(&spy_l7_skip, k);
    if (!v)
        return 0;
    __u32 span = v->end_seq - v->from_seq;
    __u32 at = p->tcp_seq - v->from_seq;
    if (at >= span || span - at < p->payload_len)
        return 0;
    spy_stat_inc(SPY_STAT_L7_BODY_SKIPPED);
    return 1;
}

/* A SYN opens a new connection on its 4-tuple: its sequence numbers start anywhere (RFC 6528 ISNs of a quickly
 * reused 4-tuple even land near the old ones), so both directions' old bodies are forgotten. Once per connection,
 * only on L7 ports (or any port with cfg_http_detect). */
static __always_inline void spy_l7_skip_forget(const struct spy_pkt *p)
{
    struct spy_l7_skip_key *k = spy_l7_skip_key_of(p, 0);
    if (k)
        bpf_map_delete_elem(&spy_l7_skip, k);
    k = spy_l7_skip_key_of(p, 1);
    if (k)
        bpf_map_delete_elem(&spy_l7_skip, k);
}
