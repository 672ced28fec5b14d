/* Event assembly and ring-buffer output with batched wakeups. Every failed output is counted per CPU. */
#pragma once
#include "common.bpf.h"

static __always_inline struct spy_scratch *spy_scratch_get(void)
{
    __u32 zero = 0;
    return bpf_map_lookup_elem(&spy_scratch_map, &zero);
}

/* Copies up to cfg_snap_len bytes of the frame after the fixed event part and writes the event. */
static __always_inline void spy_emit(struct __sk_buff *skb, struct spy_scratch *sc)
{
    __u32 snap = skb->len;
    if (snap > cfg_snap_len)
        snap = cfg_snap_len;
    if (snap > SPY_MAX_SNAP_LEN)
        snap = SPY_MAX_SNAP_LEN;
    if (snap > 0 && bpf_skb_load_bytes(skb, 0, sc->data, snap) < 0)
        snap = 0;
    sc->ev.hdr.snap_len = snap;

    __u64 size = sizeof(struct spy_packet_event) + snap;
    if (size > sizeof(*sc))
        size = sizeof(*sc);

    __u64 queued = bpf_ringbuf_query(&spy_events, BPF_RB_AVAIL_DATA);
    __u64 wake = queued + size >= cfg_wakeup_bytes ? BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP;
    if (bpf_ringbuf_output(&spy_events, sc, size, wake) < 0) {
        spy_stat_inc(SPY_STAT_RINGBUF_FULL);
        return;
    }
    spy_stat_inc(SPY_STAT_EVENTS);
}
