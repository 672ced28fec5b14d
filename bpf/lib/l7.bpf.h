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
