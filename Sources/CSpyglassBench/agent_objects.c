/* Finds the BPF program and maps of an agent running in this process (the agent keeps its own descriptors
 * private): by the tc hook it attached, then by the program's map ids. */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "spyglass_bench.h"

int spyb_tc_prog_fd(int ifindex, int ingress, uint32_t handle, uint32_t priority)
{
    LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
                .attach_point = ingress ? BPF_TC_INGRESS : BPF_TC_EGRESS);
    LIBBPF_OPTS(bpf_tc_opts, opts, .handle = handle, .priority = priority);
    int err = bpf_tc_query(&hook, &opts);
    if (err)
        return err;
    int fd = bpf_prog_get_fd_by_id(opts.prog_id);
    return fd < 0 ? -errno : fd;
}

int spyb_prog_map_fd(int prog_fd, const char *name)
{
    uint32_t ids[64];
    struct bpf_prog_info info;
    memset(&info, 0, sizeof(info));
    info.nr_map_ids = 64;
    info.map_ids = (uint64_t)(uintptr_t)ids;
    uint32_t len = sizeof(info);
    if (bpf_obj_get_info_by_fd(prog_fd, &info, &len))
        return -errno;
    for (uint32_t i = 0; i < info.nr_map_ids && i < 64; i++) {
        int fd = bpf_map_get_fd_by_id(ids[i]);
        if (fd < 0)
            continue;
        struct bpf_map_info m;
        memset(&m, 0, sizeof(m));
        uint32_t mlen = sizeof(m);
        if (bpf_obj_get_info_by_fd(fd, &m, &mlen) == 0 && strcmp(m.name, name) == 0)
            return fd;
        close(fd);
    }
    return -ENOENT;
}
