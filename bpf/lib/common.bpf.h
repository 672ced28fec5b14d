/* Includes, constants and maps shared by every Spyglass BPF program: the ring buffer, per-CPU stats, and the
 * scratch area events are assembled in. Kernel UAPI headers that pull in glibc are avoided: constants are
 * defined here. */
#pragma once

#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "spyglass_events.h"

#define SPY_ETH_P_IP 0x0800
#define SPY_ETH_P_IPV6 0x86DD
#define SPY_ETH_P_8021Q 0x8100
#define SPY_ETH_P_8021AD 0x88A8

#define SPY_IPPROTO_ICMP 1
#define SPY_IPPROTO_IGMP 2
#define SPY_IPPROTO_TCP 6
#define SPY_IPPROTO_UDP 17
#define SPY_IPPROTO_ICMPV6 58
#define SPY_IPPROTO_SCTP 132
#define SPY_IPPROTO_VRRP 112

/* Configuration, set by user space between open and load. */
const volatile __u32 cfg_snap_len = SPY_MIN_SNAP_LEN;
const volatile __u32 cfg_aggregation = 3;          /* 0 = none, >= 1 = medium */
const volatile __u64 cfg_interval_ns = 5000000000ULL;
const volatile __u64 cfg_wakeup_bytes = 65536;     /* wake the reader once this much is queued */
const volatile __u8 cfg_report_flags = 0xff;       /* TCP flags that trigger a report when first seen */
const volatile __u32 cfg_l7_snap_len = 1024;       /* snapshot of packets that carry DNS/HTTP */
const volatile __u32 cfg_http_detect = 1;          /* report TCP payloads that start like HTTP on any port */
const volatile __u64 cfg_ns_per_jiffy = 0;         /* 1e9 / CONFIG_HZ; 0 = unknown (see spy_interval_clock) */

struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, 8 << 20);
} spy_events SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, SPY_STAT_COUNT);
    __type(key, __u32);
    __type(value, __u64);
} spy_stats SEC(".maps");

/* Ports whose payload is L7 (SPY_L7_DNS / SPY_L7_HTTP; 0 = none), indexed by port, written by user space. An array
 * lookup needs no hashing: this check runs for every packet that carries payload. */
struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 65536);
    __type(key, __u32);
    __type(value, __u8);
} spy_l7_ports SEC(".maps");

struct spy_scratch {
    struct spy_packet_event ev;
    __u8 data[SPY_MAX_SNAP_LEN];
};

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct spy_scratch);
} spy_scratch_map SEC(".maps");

static __always_inline void spy_stat_inc(__u32 idx)
{
    __u64 *v = bpf_map_lookup_elem(&spy_stats, &idx);
    if (v)
        *v += 1;
}

/* The clock of aggregation intervals. Intervals are seconds long, so a tick is precise enough, and jiffies cost
 * nothing to read where the precise boot clock costs ~35 ns per packet (measured under BPF_PROG_TEST_RUN). When
 * user space could not learn CONFIG_HZ (no /boot/config-*, no /proc/config.gz: e.g. in a container), the
 * monotonic clock is used instead: the coarse one would be cheaper, but Debian 12's 6.1 does not offer it to tc
 * programs (found by scripts/kernel-vm.sh). Only differences of this clock are used, so its epoch does not matter. */
static __always_inline __u64 spy_interval_clock(void)
{
    if (cfg_ns_per_jiffy)
        return bpf_jiffies64() * cfg_ns_per_jiffy;
    return bpf_ktime_get_ns();
}
