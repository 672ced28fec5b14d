/* A per-CPU last-connection cache in front of the spy_conns lookup. Consecutive packets of one connection on a CPU
 * are the common case (a NAPI batch, a TCP burst, its ACKs), and at `medium` most of them are folded: for those,
 * hashing the 48-byte key and walking the LRU bucket was most of the program's cost.
 *
 * The state stays in spy_conns. A CPU's entry holds a view of one connection (the fields a fold decision reads,
 * and its L7 port verdict) and the packets it folded since, per side, that the state does not count yet. A packet
 * takes the fast path only when an uncached lookup would certainly fold it: same key, a side this CPU owns, no
 * SYN, no L7 payload, every TCP flag already seen in its direction, inside the interval. Flags and report times
 * only grow, so a view older than the state errs towards the slow path; a state created or replaced anywhere since
 * the view was taken (spy_conn_epoch) ends it. Everything else looks the state up and decides exactly as without
 * the cache, after merging what was folded elsewhere: the CPU's own pending counts, and those of the CPU that owns
 * the packet's side (spy_conn_state.owner), which it takes over. So every report carries all packets folded before
 * it, on any CPU, and pending counts only ever join the connection they were folded into (spy_conn_state.gen). */
#pragma once
#include "conn.bpf.h"
#include "l7.bpf.h"

/* Pending counts: packets << 40 | bytes, added in one atomic operation (another CPU may take them over). */
#define SPY_PENDING_SHIFT 40
#define SPY_PENDING_BYTES_MASK ((1ULL << SPY_PENDING_SHIFT) - 1)

struct spy_conn_cache_entry {
    struct spy_conn_key key;
    __u64 last_report_ns[2]; /* as the state held them when the view was taken */
    __u64 pending[2];        /* per side: folded here, not in the state yet */
    __u64 epoch;             /* spy_conn_epoch when the view was taken */
    __u32 gen;               /* the state's gen */
    __u32 owned;             /* bit per side this CPU owns: only those take the fast path */
    __u8 flags_seen[2];
    __u8 valid;
    __u8 l7_ports;           /* spy_l7_port() of the connection */
    __u8 pad[4];
};

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct spy_conn_cache_entry);
} spy_conn_cache SEC(".maps");

_Static_assert(sizeof(struct spy_conn_key) == 48, "spy_conn_key_equal compares six words");

static __always_inline int spy_conn_key_equal(const struct spy_conn_key *a, const struct spy_conn_key *b)
{
    const __u64 *x = (const __u64 *)a, *y = (const __u64 *)b;
    return ((x[0] ^ y[0]) | (x[1] ^ y[1]) | (x[2] ^ y[2]) | (x[3] ^ y[3]) | (x[4] ^ y[4]) | (x[5] ^ y[5])) == 0;
}

static __always_inline void spy_conn_add_pending(struct spy_conn_state *st, int s, __u64 pending)
{
    st->folded_packets[s] += pending >> SPY_PENDING_SHIFT;
    st->folded_bytes[s] += pending & SPY_PENDING_BYTES_MASK;
}

/* Ends this CPU's view and hands its pending counts to `st` if it is the state they were folded into (else they
 * are dropped with the connection they belong to, as its state's own folded counts are). */
static __always_inline void spy_conn_cache_retire(struct spy_conn_cache_entry *c, struct spy_conn_state *st)
{
    c->valid = 0;
    c->owned = 0;
    __u64 p0 = __sync_lock_test_and_set(&c->pending[0], 0);
    __u64 p1 = __sync_lock_test_and_set(&c->pending[1], 0);
    if (st && st->gen == c->gen) {
        spy_conn_add_pending(st, 0, p0);
        spy_conn_add_pending(st, 1, p1);
    }
}

/* Takes over side `s` of `st` from the CPU that owns it: its fast path stops for that side, and what it folded
 * there joins the state before this packet's decision. */
static __always_inline void spy_conn_cache_steal(struct spy_conn_state *st, const struct spy_conn_key *key, int s,
                                                 __u32 me)
{
    __u32 owner = st->owner[s];
    if (!owner || owner == me + 1)
        return;
    __u32 zero = 0;
    struct spy_conn_cache_entry *oc = bpf_map_lookup_percpu_elem(&spy_conn_cache, &zero, owner - 1);
    if (!oc || !oc->valid || oc->gen != st->gen || !spy_conn_key_equal(&oc->key, key))
        return;
    __sync_fetch_and_and(&oc->owned, ~(1u << s));
    spy_conn_add_pending(st, s, __sync_lock_test_and_set(&oc->pending[s], 0));
}

/* The decision without the cache (monitor aggregation `none`). */
static __always_inline void spy_conn_decide_uncached(const struct spy_pkt *p, __u32 ifindex, __u32 len, __u64 now,
                                                     int http, struct spy_decision *d)
{
    struct spy_conn_key key = {};
    struct spy_conn_state fresh;
    int created = 0;
    int side = spy_conn_key(p, ifindex, &key);
    d->l7 = http || (spy_l7_has_payload(p) && spy_l7_port(p));
    if (d->l7 && spy_l7_body_only(p))
        d->l7 = 0;
    if (spy_conn_is_syn(p) && (cfg_http_detect || spy_l7_port(p)))
        spy_l7_skip_forget(p);
    struct spy_conn_state *st = bpf_map_lookup_elem(&spy_conns, &key);
    spy_conn_apply(p, &key, side, len, now, d->l7, st, &fresh, 0, &created, d);
}

static __always_inline void spy_conn_view_take(struct spy_conn_cache_entry *c, const struct spy_conn_state *st,
                                               __u64 epoch, int s, __u32 me)
{
    c->last_report_ns[0] = st->last_report_ns[0];
    c->last_report_ns[1] = st->last_report_ns[1];
    c->flags_seen[0] = st->flags_seen[0];
    c->flags_seen[1] = st->flags_seen[1];
    c->gen = st->gen;
    c->epoch = epoch;
    c->owned = (1u << s) | (st->owner[s ^ 1] == me + 1 ? 1u << (s ^ 1) : 0);
}

struct spy_conn_slow_in {
    __u64 now;
    __u32 len;
    __u8 side, http;
    __u8 payload; /* bit 0: L7 payload; bit 1: spy_l7_body_only() already said no (a byte more crosses 6.1's stack limit) */
    __u8 same;
};

/* Everything but the fast path, out of line (a BPF-to-BPF call) so the fast path stays a few cache lines of code.
 * Returns d->report: a used scalar return (with none, clang leaves r0 holding a stack pointer, which the verifier
 * refuses at a subprogram's exit). */
static __noinline int spy_conn_decide_slow(const struct spy_pkt *p, const struct spy_conn_key *key,
                                            struct spy_conn_cache_entry *c, const struct spy_conn_slow_in *in,
                                            struct spy_decision *d)
{
    int side = in->side, s = in->side & 1, same = in->same, http = in->http, payload = in->payload & 1;
    __u32 len = in->len;
    __u64 now = in->now;
    __u32 me = bpf_get_smp_processor_id();
    if (!same) {
        if (c->pending[0] | c->pending[1])
            spy_conn_cache_retire(c, bpf_map_lookup_elem(&spy_conns, &c->key));
        else
            spy_conn_cache_retire(c, 0);
        __builtin_memcpy(&c->key, key, sizeof(*key));
    }
    __u64 epoch = spy_conn_epoch; /* before the lookup: a replacement after it bumps past the view's */
    struct spy_conn_state *st = bpf_map_lookup_elem(&spy_conns, key);
    if (same)
        spy_conn_cache_retire(c, st);
    if (st)
        spy_conn_cache_steal(st, key, s, me);

    int ports = spy_l7_port(p);
    d->l7 = http || (payload && ports);
    if (d->l7 && !(in->payload & 2) && spy_l7_body_only(p))
        d->l7 = 0;
    if (spy_conn_is_syn(p) && (ports || cfg_http_detect))
        spy_l7_skip_forget(p);
    struct spy_conn_state fresh;
    int created = 0;
    if (!spy_conn_apply(p, key, side, len, now, d->l7, st, &fresh, me + 1, &created, d))
        return d->report;
    if (created) {
        spy_conn_view_take(c, &fresh, fresh.gen, s, me);
    } else if (st) {
        st->owner[s] = me + 1;
        spy_conn_view_take(c, st, epoch, s, me);
    }
    c->l7_ports = ports;
    c->valid = 1;
    return d->report;
}

/* Decides for a packet and says whether it carries L7 payload (d->l7): `http` is spy_l7_http_start() of it, the
 * L7 port check is the cache's. Monitor aggregation `none` reports every packet and goes uncached. */
static __always_inline void spy_conn_decide(const struct spy_pkt *p, __u32 ifindex, __u32 len, __u64 now, int http,
                                            struct spy_decision *d)
{
    if (!cfg_aggregation) {
        spy_conn_decide_uncached(p, ifindex, len, now, http, d);
        return;
    }
    struct spy_conn_key key = {};
    int side = spy_conn_key(p, ifindex, &key);
    int s = side & 1;
    __u32 zero = 0;
    struct spy_conn_cache_entry *c = bpf_map_lookup_elem(&spy_conn_cache, &zero);
    if (!c) {
        spy_conn_decide_uncached(p, ifindex, len, now, http, d);
        return;
    }
    int payload = spy_l7_has_payload(p);
    int same = c->valid && spy_conn_key_equal(&c->key, &key);
    /* A candidate inside a skipped HTTP body is a plain data segment (it may take the fast path). */
    int skip_checked = 0;
    if (http || (payload && same && c->l7_ports)) {
        if (spy_l7_body_only(p))
            http = payload = 0;
        else
            skip_checked = 1;
    }
    if (same && (c->owned & (1u << s)) && !http && !(payload && c->l7_ports) && !spy_conn_is_syn(p) &&
        !(p->tcp_flags & ~c->flags_seen[s]) &&
        now - c->last_report_ns[s] < cfg_interval_ns && c->epoch == spy_conn_epoch &&
        (c->pending[s] & SPY_PENDING_BYTES_MASK) < (1ULL << 39) && (c->pending[s] >> SPY_PENDING_SHIFT) < (1u << 22)) {
        __sync_fetch_and_add(&c->pending[s], (1ULL << SPY_PENDING_SHIFT) | len);
        return; /* folded: d->report stays 0 */
    }

    struct spy_conn_slow_in in = {.now = now, .len = len, .side = side, .http = http,
                                  .payload = payload | (skip_checked << 1), .same = same};
    d->report = spy_conn_decide_slow(p, &key, c, &in, d);
}
