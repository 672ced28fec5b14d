/*
 * The whole kernel <-> user-space contract of Spyglass.
 *
 * Included by the BPF programs in bpf/ (compiled with -target bpf) and by the Swift side through the
 * CSpyglassBPF module. Every struct has a fixed layout pinned by _Static_assert; the Swift decoder checks
 * `version` and `header_len` before it reads anything else. Bump SPY_EVENT_VERSION on any layout change.
 */
#ifndef SPYGLASS_EVENTS_H
#define SPYGLASS_EVENTS_H

#include <linux/types.h>

#define SPY_EVENT_VERSION 1

/* Largest packet snapshot a single event can carry (bytes of the frame, from the MAC header). */
#define SPY_MAX_SNAP_LEN 2048
/* Smallest snapshot the agent accepts: enough for Ethernet + VLAN + IPv6 + a few extension headers + TCP. */
#define SPY_MIN_SNAP_LEN 128

enum spy_event_kind {
    SPY_EVENT_TRACE = 1, /* a packet seen by the tc program */
    SPY_EVENT_DROP = 2,  /* a packet freed by the kernel with a drop reason */
};

/* Why the tc program reported this packet (the rest were aggregated away). */
enum spy_report_reason {
    SPY_REPORT_EVERY_PACKET = 0, /* aggregation level none */
    SPY_REPORT_NEW_CONNECTION = 1,
    SPY_REPORT_NEW_TCP_FLAGS = 2,
    SPY_REPORT_INTERVAL = 3,
    SPY_REPORT_NO_STATE = 4,     /* no connection state could be kept (map full, non-IP) */
    SPY_REPORT_L7 = 5,           /* payload that may carry DNS/HTTP: never aggregated */
};

/* tc hook direction. */
enum spy_direction {
    SPY_DIR_INGRESS = 0,
    SPY_DIR_EGRESS = 1,
};

/* Bits of spy_packet_event.flags */
#define SPY_F_IS_REPLY        (1u << 0) /* the packet travels from the responder to the originator */
#define SPY_F_REPLY_KNOWN     (1u << 1) /* is_reply is meaningful (origin of the connection is known) */
#define SPY_F_NEW_CONNECTION  (1u << 2) /* first packet of a connection in the state table */
#define SPY_F_VLAN            (1u << 3) /* the frame carried an 802.1Q tag (vlan_id is valid) */
#define SPY_F_L4_PRESENT      (1u << 4) /* sport/dport or icmp type/code are valid */
#define SPY_F_FRAGMENT        (1u << 5) /* a non-first IP fragment: no L4 header */
#define SPY_F_TRUNCATED       (1u << 6) /* the packet ended before the headers it announced */
#define SPY_F_TCP_NS          (1u << 7) /* the TCP NS (ECN nonce) bit */
#define SPY_F_L7_CANDIDATE    (1u << 8) /* carries payload on a DNS/HTTP port or that starts like HTTP */
#define SPY_F_L7_ONLY         (1u << 9) /* reported only for its L7 payload: aggregation folded it as a trace
                                         * (aggregated = 0; its packet is counted in the next trace report) */

/* TCP flag bits in spy_packet_event.tcp_flags (the order of the TCP header's flags byte). */
#define SPY_TCP_FIN 0x01
#define SPY_TCP_SYN 0x02
#define SPY_TCP_RST 0x04
#define SPY_TCP_PSH 0x08
#define SPY_TCP_ACK 0x10
#define SPY_TCP_URG 0x20
#define SPY_TCP_ECE 0x40
#define SPY_TCP_CWR 0x80

struct spy_event_header {
    __u16 version;    /* SPY_EVENT_VERSION */
    __u16 kind;       /* enum spy_event_kind */
    __u16 header_len; /* sizeof(struct spy_packet_event): the snapshot starts here */
    __u16 snap_len;   /* bytes of frame snapshot that follow the fixed part */
};
_Static_assert(sizeof(struct spy_event_header) == 8, "spy_event_header layout");

/*
 * One packet, as seen by a hook. Addresses are in network byte order (IPv4 in the first 4 bytes),
 * ports in host byte order. The snapshot (snap_len bytes) follows and starts at the MAC header
 * (l3_offset tells where the IP header starts in it).
 */
struct spy_packet_event {
    struct spy_event_header hdr; /*  0 */
    __u64 timestamp_ns;          /*  8: bpf_ktime_get_boot_ns() (CLOCK_BOOTTIME) */
    __u32 ifindex;               /* 16 */
    __u32 pkt_len;               /* 20: skb->len */
    __u8 saddr[16];              /* 24 */
    __u8 daddr[16];              /* 40 */
    __u16 sport;                 /* 56: or ICMP echo identifier */
    __u16 dport;                 /* 58 */
    __u16 vlan_id;               /* 60 */
    __u16 flags;                 /* 62: SPY_F_* */
    __u8 direction;              /* 64: enum spy_direction */
    __u8 obs_point;              /* 65: Hubble trace observation point code (0..13), 0xff unknown */
    __u8 ip_version;             /* 66: 4, 6 or 0 */
    __u8 l4_proto;               /* 67: IPPROTO_* */
    __u8 tcp_flags;              /* 68: SPY_TCP_* */
    __u8 icmp_type;              /* 69 */
    __u8 icmp_code;              /* 70 */
    __u8 report_reason;          /* 71: enum spy_report_reason */
    __u16 l3_offset;             /* 72: offset of the IP header in the snapshot */
    __u16 l4_offset;             /* 74: offset of the L4 header in the snapshot (0: none) */
    __u32 drop_reason;           /* 76: kernel skb_drop_reason (drop events) */
    __u32 cpu;                   /* 80 */
    __u32 aggregated;            /* 84: packets in this direction folded into this report (incl. this one) */
    __u64 aggregated_bytes;      /* 88: their bytes */
};
_Static_assert(sizeof(struct spy_packet_event) == 96, "spy_packet_event layout");

/* Index into the per-CPU `spy_stats` array map. */
enum spy_stat {
    SPY_STAT_PACKETS = 0,          /* packets the tc program ran on */
    SPY_STAT_EVENTS = 1,           /* events written to the ring buffer */
    SPY_STAT_RINGBUF_FULL = 2,     /* events lost: ring buffer output failed */
    SPY_STAT_AGGREGATED = 3,       /* packets folded into an existing connection report */
    SPY_STAT_NON_IP = 4,           /* frames that were not IPv4/IPv6 (ARP, ...) and not reported */
    SPY_STAT_CONN_TABLE_FULL = 5,  /* connection state could not be stored */
    SPY_STAT_DROPS_SUPPRESSED = 6, /* drop events suppressed by the per-reason rate limit */
    SPY_STAT_DROP_NON_IP = 7,      /* drops of non-IP packets (netlink, ARP, ...), not reported */
    SPY_STAT_DROP_EVENTS = 8,      /* drop events written to the ring buffer */
    SPY_STAT_DROP_RINGBUF_FULL = 9,/* drop events lost: ring buffer output failed */
    SPY_STAT_RX_SUPPRESSED = 14,   /* receive-side reports suppressed (SPY_IFACE_F_SUPPRESS_INGRESS) */
    SPY_STAT_TUNNEL_SKIPPED = 15,  /* encapsulated packets on a device not reported (spy_iface_config.tunnel_port) */
    SPY_STAT_L7_BODY_SKIPPED = 16, /* L7 candidates left out: inside an HTTP body user space counts (spy_l7_skip) */
    SPY_STAT_COUNT = 17,
};

/* spy_l7_skip: one direction of a TCP connection, node-wide (no interface: every watched point sees the same
 * sequence numbers) -> the part of a counted HTTP body user space skips by count. Addresses as in events (network
 * byte order, IPv4 in the first 4 bytes), ports in host byte order. */
struct spy_l7_skip_key {
    __u8 saddr[16];
    __u8 daddr[16];
    __u16 sport;
    __u16 dport;
    __u8 family;   /* 4 or 6 */
    __u8 pad[3];
};
_Static_assert(sizeof(struct spy_l7_skip_key) == 40, "spy_l7_skip_key layout");

/* A segment is left out when all of it lies in [from_seq, end_seq) (wrapping): its bytes are body bytes. */
struct spy_l7_skip_value {
    __u32 from_seq; /* the direction's position when user space wrote the entry */
    __u32 end_seq;  /* first sequence number after the body */
};

/* Why a drop that was to be reported could not be parsed (index into the drop program's per-CPU
 * `spy_drop_unparsed` map): such a drop is counted, never reported with bytes that are not the packet's. */
enum spy_drop_unparsed {
    SPY_DROP_UNPARSED_NO_NETWORK_HEADER = 0, /* skb->network_header was never set */
    SPY_DROP_UNPARSED_OUTSIDE_PACKET = 1,    /* the network header lies outside the skb's linear data */
    SPY_DROP_UNPARSED_NOT_IP = 2,            /* neither IPv4 nor IPv6 (ARP, netlink, ...) */
    SPY_DROP_UNPARSED_BAD_IP_HEADER = 3,     /* IPv4 IHL < 5, or the version disagrees with skb->protocol */
    SPY_DROP_UNPARSED_TRUNCATED_IP = 4,      /* the IP header runs past the skb's linear data */
    SPY_DROP_UNPARSED_COUNT = 8,
};

/* Drop classes (values of the drop program's `spy_drop_rules` map; Swift: DropClass.code). */
#define SPY_DROP_CLASS_DROP 0
#define SPY_DROP_CLASS_SOCKET 1
#define SPY_DROP_CLASS_BENIGN 2

/* Bits of spy_iface_config.flags */
#define SPY_IFACE_F_SUPPRESS_INGRESS (1u << 0) /* monitor aggregation >= low: a packet entering this interface is
                                                * reported at its sending-side point (to-endpoint, to-network...)
                                                * instead, unless it is addressed to the node itself (map
                                                * `spy_host_addrs`); its L7 payload still goes to user space */

/* Per-interface configuration written by user space (map `spy_ifaces`, key ifindex); see InterfaceRoles. */
struct spy_iface_config {
    __u8 ingress_point; /* observation point for packets entering the interface */
    __u8 egress_point;  /* observation point for packets leaving it */
    __u8 flags;         /* SPY_IFACE_F_* */
    __u8 pad;
    __u16 tunnel_port;  /* a device's UDP port of a watched VXLAN/Geneve tunnel (host order), 0 none: those
                         * packets carry overlay traffic already reported at the tunnel's to/from-overlay */
    __u16 pad2;
};
_Static_assert(sizeof(struct spy_iface_config) == 8, "spy_iface_config layout");

/* Values of the `spy_l7_ports` map (key: port in host order). */
#define SPY_L7_DNS 1
#define SPY_L7_HTTP 2

/* Hubble trace observation point codes (pkg/monitor/api/types.go). */
#define SPY_OBS_TO_ENDPOINT 0
#define SPY_OBS_TO_PROXY 1
#define SPY_OBS_TO_HOST 2
#define SPY_OBS_TO_STACK 3
#define SPY_OBS_TO_OVERLAY 4
#define SPY_OBS_FROM_ENDPOINT 5
#define SPY_OBS_FROM_PROXY 6
#define SPY_OBS_FROM_HOST 7
#define SPY_OBS_FROM_STACK 8
#define SPY_OBS_FROM_OVERLAY 9
#define SPY_OBS_FROM_NETWORK 10
#define SPY_OBS_TO_NETWORK 11
#define SPY_OBS_UNKNOWN 0xff

#endif
