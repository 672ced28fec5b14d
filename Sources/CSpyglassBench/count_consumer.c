/* The ceiling for the user-space pipeline: a consumer that reads the same ring buffer with libbpf and does
 * nothing but count. */
#define _GNU_SOURCE
#include <errno.h>
#include <unistd.h>
#include <time.h>
#include <bpf/libbpf.h>
#include "spyglass_bench.h"

uint64_t spyb_thread_cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int32_t spyb_gettid(void)
{
    return (int32_t)gettid();
}

static int count_sample(void *ctx, void *data, size_t size)
{
    (void)data;
    struct spyb_count_result *r = ctx;
    r->events++;
    r->bytes += size;
    return 0;
}

int spyb_count_ring(int map_fd, volatile int *stop, int poll_timeout_ms, struct spyb_count_result *out)
{
    struct spyb_count_result r = {0};
    struct ring_buffer *rb = ring_buffer__new(map_fd, count_sample, &r, NULL);
    if (!rb)
        return -errno;
    uint64_t start = spyb_thread_cpu_ns();
    while (!*stop) {
        int n = ring_buffer__poll(rb, poll_timeout_ms);
        if (n < 0 && n != -EINTR)
            break;
    }
    ring_buffer__consume(rb);
    r.thread_cpu_ns = spyb_thread_cpu_ns() - start;
    ring_buffer__free(rb);
    *out = r;
    return 0;
}
