/* libbpf calls whose option structs must be built in C (Swift does not zero tail padding, which libbpf checks),
 * plus the few system calls Swift cannot express neatly. Every function returns 0 or a negative errno. */
#pragma once
#include <stddef.h>
#include <stdint.h>
#include "spyglass_events.h"

struct bpf_object;

/* libbpf's log goes to a buffer instead of stderr; verbose mode also forwards it to stderr. */
void spy_libbpf_capture_logs(int verbose);
/* Last warning/error line libbpf printed (for one-line error messages). */
void spy_libbpf_last_log(char *buf, size_t size);

struct bpf_object *spy_object_open_mem(const void *buf, size_t size, const char *name, int *err);
/* Sets a `const volatile` global of the object's .rodata before load. */
int spy_object_set_rodata(struct bpf_object *obj, const char *var, const void *value, size_t size);

/* tc (clsact) hooks. `created` tells whether this call created the clsact qdisc. */
int spy_tc_attach(int ifindex, int ingress, int prog_fd, uint32_t handle, uint32_t priority, int *created);
int spy_tc_detach(int ifindex, int ingress, uint32_t handle, uint32_t priority);
/* Program id attached at (handle, priority), or a negative errno (-ENOENT when none). */
int spy_tc_query(int ifindex, int ingress, uint32_t handle, uint32_t priority, uint32_t *prog_id);
/* Name of a loaded program by id. */
int spy_prog_name(uint32_t prog_id, char *buf, size_t size);

/* The id of a program we hold a descriptor of (0 on error). */
uint32_t spy_prog_id(int prog_fd);

/* BPF_PROG_TEST_RUN on a packet. */
int spy_prog_test_run(int prog_fd, const void *data_in, uint32_t size_in, void *data_out, uint32_t *size_out,
                      uint32_t *retval, uint32_t repeat, uint32_t *duration_ns);
/* Loads a tc program that only returns TC_ACT_OK (the baseline of test-run cost figures); an fd or -errno. */
int spy_load_empty_tc_prog(void);

/* Driver name of a network interface (ethtool), e.g. "veth", "bridge". */
int spy_iface_driver(const char *ifname, char *buf, size_t size);

/* Values and names of a kernel enum from the running kernel's BTF (/sys/kernel/btf/vmlinux). Returns the number of
 * entries written (at most `max`), or a negative errno. Names are truncated to 63 bytes. */
int spy_btf_enum(const char *enum_name, int64_t *values, char (*names)[64], int max);
/* Number of parameters of a function-pointer typedef in the kernel's BTF (e.g. "btf_trace_kfree_skb"). */
int spy_btf_typedef_params(const char *typedef_name);
/* Inode number of this process's network namespace. */
uint32_t spy_netns_inum(void);

/* CONFIG_HZ of the running kernel from its config file; 0 when unknown. */
uint32_t spy_kernel_hz(void);
