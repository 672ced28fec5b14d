/* Event assembly and ring-buffer output with batched wakeups. Every failed output is counted per CPU. */
#pragma once
#include "common.bpf.h"

static __always_inline struct spy_scratch *spy_scratch_get(void)
{
    __u32 zero = 0;
    return bpf_map_lookup_elem(&spy_scratch_map, &zero);
}

/* Writes the event assembled in `sc` with `snap` bytes of snapshot already copied after it. */
static __always_inline void spy_output(struct spy_scratch *sc, __u32 snap)
{
    if (snap > SPY_MAX_SNAP_LEN)
        snap = SPY_MAX_SNAP_LEN;
    sc->ev.hdr.snap_len = snap;

    __u64 size = sizeof(struct spy_packet_event) + snap;
    if (size > sizeof(*sc))
        size = sizeof(*sc);

    /* Wake the reader when this record takes the queue across a multiple of cfg_wakeup_bytes, not on every record
     * while the queue is above it: a forced wakeup costs the producing CPU an irq_work (~1 µs), and while the reader
     * is busy the queue stays above the mark, so "every record above it" made each reported packet pay one. The
     * reader's epoll is level-triggered and drains on its poll timeout too: a crossing two CPUs both miss (each
     * saw the queue before the other's record) delays the wakeup to the next multiple, never loses data. */
    __u64 queued = bpf_ringbuf_query(&spy_events, BPF_RB_AVAIL_DATA);
    __u64 wake = queued / cfg_wakeup_bytes != (queued + size) / cfg_wakeup_bytes ? BPF_RB_FORCE_WAKEUP
                                                                                 : BPF_RB_NO_WAKEUP;
    int drop = sc->ev.hdr.kind == SPY_EVENT_DROP;
    if (bpf_ringbuf_output(&spy_events, sc, size, wake) < 0) {
        spy_stat_inc(drop ? SPY_STAT_DROP_RINGBUF_FULL : SPY_STAT_RINGBUF_FULL);
        return;
    }
    spy_stat_inc(drop ? SPY_STAT_DROP_EVENTS : SPY_STAT_EVENTS);
}
