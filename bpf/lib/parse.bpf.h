/* Header parsing shared by the tc and drop programs: IPv4, IPv6 with extension headers, TCP, UDP, SCTP, ICMPv4,
 * ICMPv6, IGMP, VRRP; plus Ethernet with one 802.1Q/802.1ad tag for tc. The including program defines how bytes
 * are read: SPY_PARSE_CTX (the type of the source) and SPY_LOAD(ctx, off, dst, len) (0 on success) — tc reads
 * the linear part directly and falls back to bpf_skb_load_bytes, the drop program uses bpf_probe_read_kernel. */
#pragma once
#include "common.bpf.h"

#ifndef SPY_LOAD
#error "define SPY_PARSE_CTX and SPY_LOAD before including parse.bpf.h"
#endif

struct spy_pkt {
    __u64 saddr[2]; /* network byte order, IPv4 in the first 4 bytes */
    __u64 daddr[2];
    __u16 sport, dport;
    __u16 vlan_id;
    __u16 flags;    /* SPY_F_* */
    __u16 l3_off, l4_off;
    __u16 payload_off;  /* 0: no L4 payload known */
    __u16 payload_len;
    /* One or the other: the stack of the tc program's deepest frames is at 6.1's limit (scripts/kernel-vm.sh). */
    union {
        __u32 tcp_seq;  /* TCP sequence number (host order) */
        struct {
            __u8 icmp_type, icmp_code; /* ICMP, IGMP, VRRP */
        };
    };
    __u8 ip_version;
    __u8 proto;
    __u8 tcp_flags;
};

/* The ICMP type and code an event carries: 0 for TCP, whose sequence number shares their bytes in spy_pkt. */
static __always_inline __u8 spy_pkt_icmp_type(const struct spy_pkt *p)
{
    return p->proto == SPY_IPPROTO_TCP ? 0 : p->icmp_type;
}

static __always_inline __u8 spy_pkt_icmp_code(const struct spy_pkt *p)
{
    return p->proto == SPY_IPPROTO_TCP ? 0 : p->icmp_code;
}

struct spy_ipv4_hdr {
    __u8 ver_ihl;
    __u8 tos;
    __u16 tot_len;
    __u16 id;
    __u16 frag_off;
    __u8 ttl;
    __u8 protocol;
    __u16 check;
    __u32 saddr;
    __u32 daddr;
};

struct spy_ipv6_hdr {
    __u32 ver_tc_flow;
    __u16 payload_len;
    __u8 nexthdr;
    __u8 hop_limit;
    __u8 saddr[16];
    __u8 daddr[16];
};

#define SPY_MAX_IPV6_EXT 8

/* Parses from the IP header at `off` (ethertype `proto`). Returns 0 when an IP packet was found (fields filled,
 * possibly marked truncated), -1 for non-IP. */
static __always_inline int spy_parse_l3(SPY_PARSE_CTX ctx, __u32 off, __u16 proto, struct spy_pkt *p)
{
    p->l3_off = off;
    __u8 nexthdr;
    __u32 ip_end = 0;
    if (proto == SPY_ETH_P_IP) {
        struct spy_ipv4_hdr ip;
        p->ip_version = 4;
        if (SPY_LOAD(ctx, off, &ip, sizeof(ip)) < 0) {
            p->flags |= SPY_F_TRUNCATED;
            return 0;
        }
        __u32 ihl = (ip.ver_ihl & 0x0f) * 4;
        if (ihl < 20) {
            p->flags |= SPY_F_TRUNCATED;
            return 0;
        }
        __builtin_memcpy(&p->saddr[0], &ip.saddr, 4);
        __builtin_memcpy(&p->daddr[0], &ip.daddr, 4);
        p->proto = ip.protocol;
        ip_end = off + bpf_ntohs(ip.tot_len);
        if (bpf_ntohs(ip.frag_off) & 0x1fff) {
            p->flags |= SPY_F_FRAGMENT;
            return 0;
        }
        off += ihl;
        nexthdr = ip.protocol;
    } else if (proto == SPY_ETH_P_IPV6) {
        struct spy_ipv6_hdr ip6;
        p->ip_version = 6;
        if (SPY_LOAD(ctx, off, &ip6, sizeof(ip6)) < 0) {
            p->flags |= SPY_F_TRUNCATED;
            return 0;
        }
        __builtin_memcpy(p->saddr, ip6.saddr, 16);
        __builtin_memcpy(p->daddr, ip6.daddr, 16);
        off += sizeof(ip6);
        ip_end = off + bpf_ntohs(ip6.payload_len);
        nexthdr = ip6.nexthdr;
#pragma unroll
        for (int i = 0; i < SPY_MAX_IPV6_EXT; i++) {
            __u8 ext[2];
            if (nexthdr != 0 && nexthdr != 43 && nexthdr != 44 && nexthdr != 60 && nexthdr != 51)
                break;
            if (SPY_LOAD(ctx, off, ext, sizeof(ext)) < 0) {
                p->proto = nexthdr;
                p->flags |= SPY_F_TRUNCATED;
                return 0;
            }
            if (nexthdr == 44) { /* fragment header: 8 bytes; a non-first fragment carries no L4 */
                __u8 frag[4];
                if (SPY_LOAD(ctx, off, frag, sizeof(frag)) < 0) {
                    p->flags |= SPY_F_TRUNCATED;
                    return 0;
                }
                if (((((__u16)frag[2] << 8) | frag[3]) & 0xfff8) != 0) {
                    p->proto = ext[0];
                    p->flags |= SPY_F_FRAGMENT;
                    return 0;
                }
                off += 8;
            } else if (nexthdr == 51) { /* AH: length in 4-byte units, minus 2 */
                off += ((__u32)ext[1] + 2) * 4;
            } else {
                off += ((__u32)ext[1] + 1) * 8;
            }
            nexthdr = ext[0];
        }
        p->proto = nexthdr;
    } else {
        return -1;
    }

    p->l4_off = off;
    __u32 payload = 0;
    switch (nexthdr) {
    case SPY_IPPROTO_TCP: {
        __u8 tcp[14];
        if (SPY_LOAD(ctx, off, tcp, sizeof(tcp)) < 0)
            goto truncated;
        p->sport = ((__u16)tcp[0] << 8) | tcp[1];
        p->dport = ((__u16)tcp[2] << 8) | tcp[3];
        p->tcp_flags = tcp[13];
        p->tcp_seq = ((__u32)tcp[4] << 24) | ((__u32)tcp[5] << 16) | ((__u32)tcp[6] << 8) | tcp[7];
        if (tcp[12] & 0x01)
            p->flags |= SPY_F_TCP_NS;
        payload = off + (tcp[12] >> 4) * 4;
        break;
    }
    case SPY_IPPROTO_UDP:
    case SPY_IPPROTO_SCTP: {
        __u8 ports[4];
        if (SPY_LOAD(ctx, off, ports, sizeof(ports)) < 0)
            goto truncated;
        p->sport = ((__u16)ports[0] << 8) | ports[1];
        p->dport = ((__u16)ports[2] << 8) | ports[3];
        if (nexthdr == SPY_IPPROTO_UDP)
            payload = off + 8;
        break;
    }
    case SPY_IPPROTO_ICMP:
    case SPY_IPPROTO_ICMPV6: {
        __u8 icmp[6];
        if (SPY_LOAD(ctx, off, icmp, 2) < 0)
            goto truncated;
        p->icmp_type = icmp[0];
        p->icmp_code = icmp[1];
        /* Echo request/reply: the identifier keys the "connection" (as conntrack does). */
        int echo = nexthdr == SPY_IPPROTO_ICMP ? (icmp[0] == 8 || icmp[0] == 0)
                                               : (icmp[0] == 128 || icmp[0] == 129);
        if (echo && SPY_LOAD(ctx, off, icmp, sizeof(icmp)) == 0) {
            p->sport = ((__u16)icmp[4] << 8) | icmp[5];
            p->dport = p->sport;
        }
        break;
    }
    case SPY_IPPROTO_IGMP:
    case SPY_IPPROTO_VRRP: {
        /* User space reads type, group / vrid, priority from the snapshot at l4_off. */
        __u8 hdr[8];
        int err = nexthdr == SPY_IPPROTO_IGMP ? SPY_LOAD(ctx, off, hdr, 8) : SPY_LOAD(ctx, off, hdr, 4);
        if (err < 0)
            goto truncated;
        p->icmp_type = nexthdr == SPY_IPPROTO_IGMP ? hdr[0] : (hdr[0] & 0x0f);
        break;
    }
    default:
        p->l4_off = 0;
        return 0;
    }
    p->flags |= SPY_F_L4_PRESENT;
    if (payload && ip_end > payload && ip_end - payload < 0x10000) {
        p->payload_off = payload;
        p->payload_len = ip_end - payload;
    }
    return 0;

truncated:
    p->flags |= SPY_F_TRUNCATED;
    return 0;
}

#ifdef SPY_PARSE_ETHERNET
/* tc: Ethernet and one VLAN tag, then L3. Returns 0 for IP packets, -1 for non-IP frames. */
static __always_inline int spy_parse(struct __sk_buff *skb, struct spy_pkt *p)
{
    __u8 eth[14];
    __u16 proto;
    __u32 off = 14;

    if (SPY_LOAD(skb, 0, eth, sizeof(eth)) < 0)
        return -1;
    proto = ((__u16)eth[12] << 8) | eth[13];

    if (skb->vlan_present) {
        p->flags |= SPY_F_VLAN;
        p->vlan_id = skb->vlan_tci & 0x0fff;
    }
    if (proto == SPY_ETH_P_8021Q || proto == SPY_ETH_P_8021AD) {
        __u8 tag[4];
        if (SPY_LOAD(skb, 14, tag, sizeof(tag)) < 0)
            return -1;
        p->flags |= SPY_F_VLAN;
        p->vlan_id = (((__u16)tag[0] << 8) | tag[1]) & 0x0fff;
        proto = ((__u16)tag[2] << 8) | tag[3];
        off = 18;
    }
    return spy_parse_l3(skb, off, proto, p);
}
#endif
