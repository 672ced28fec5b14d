/* C helpers of spyglass-bench: the minimal ring-buffer consumer (the ceiling the Swift pipeline is compared with)
 * and lookups of the agent's own BPF objects by id. Every function returns 0 or a negative errno unless stated. */
#pragma once
#include <stdint.h>

/* What the counting consumer saw: events read and the CPU time of the thread that read them. */
struct spyb_count_result {
    uint64_t events;
    uint64_t bytes;
    uint64_t thread_cpu_ns;
};

/* Reads the ring buffer `map_fd` with libbpf's ring_buffer__poll and a callback that only counts, on the calling
 * thread, until *stop becomes non-zero; then drains what is left. */
int spyb_count_ring(int map_fd, volatile int *stop, int poll_timeout_ms, struct spyb_count_result *out);

/* A file descriptor of the program attached at tc (handle, priority) on `ifindex` (ingress or egress). */
int spyb_tc_prog_fd(int ifindex, int ingress, uint32_t handle, uint32_t priority);

/* A file descriptor of the map called `name` that program `prog_fd` uses. */
int spyb_prog_map_fd(int prog_fd, const char *name);

/* Kernel thread id of the calling thread. */
int32_t spyb_gettid(void);

/* CPU time of the calling thread, in nanoseconds. */
uint64_t spyb_thread_cpu_ns(void);
