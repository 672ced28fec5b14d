#include "spyglass_shims.h"

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <pthread.h>
#include <stdarg.h>
#include <sys/utsname.h>
#include <zlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

static char last_log[512];
static int log_verbose;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

static int spy_print(enum libbpf_print_level level, const char *fmt, va_list args)
{
    char line[512];
    if (level == LIBBPF_DEBUG && !log_verbose)
        return 0;
    va_list full;
    va_copy(full, args);
    vsnprintf(line, sizeof(line), fmt, args);
    if (level != LIBBPF_DEBUG) {
        pthread_mutex_lock(&log_lock);
        snprintf(last_log, sizeof(last_log), "%s", line);
        size_t n = strlen(last_log);
        while (n > 0 && (last_log[n - 1] == '\n' || last_log[n - 1] == ' '))
            last_log[--n] = 0;
        pthread_mutex_unlock(&log_lock);
    }
    /* Whole, not cut to the line buffer: a verifier log is one message of many kilobytes. */
    if (log_verbose)
        vfprintf(stderr, fmt, full);
    va_end(full);
    return 0;
}

void spy_libbpf_capture_logs(int verbose)
{
    log_verbose = verbose;
    libbpf_set_print(spy_print);
}

void spy_libbpf_last_log(char *buf, size_t size)
{
    pthread_mutex_lock(&log_lock);
    snprintf(buf, size, "%s", last_log);
    pthread_mutex_unlock(&log_lock);
}

struct bpf_object *spy_object_open_mem(const void *buf, size_t size, const char *name, int *err)
{
    LIBBPF_OPTS(bpf_object_open_opts, opts, .object_name = name);
    struct bpf_object *obj = bpf_object__open_mem(buf, size, &opts);
    long e = libbpf_get_error(obj);
    if (e) {
        *err = (int)e;
        return NULL;
    }
    *err = 0;
    return obj;
}

int spy_object_set_rodata(struct bpf_object *obj, const char *var, const void *value, size_t size)
{
    struct bpf_map *map;
    struct btf *btf = bpf_object__btf(obj);
    if (!btf)
        return -ENOENT;
    bpf_object__for_each_map(map, obj)
    {
        const char *mname = bpf_map__name(map);
        size_t ml = strlen(mname);
        if (!bpf_map__is_internal(map) || ml < 7 || strcmp(mname + ml - 7, ".rodata") != 0)
            continue;
        int sec_id = btf__find_by_name_kind(btf, ".rodata", BTF_KIND_DATASEC);
        if (sec_id < 0)
            return sec_id;
        const struct btf_type *sec = btf__type_by_id(btf, sec_id);
        const struct btf_var_secinfo *vs = btf_var_secinfos(sec);
        size_t data_size = 0;
        char *data = bpf_map__initial_value(map, &data_size);
        if (!data)
            return -EINVAL;
        for (int i = 0; i < btf_vlen(sec); i++, vs++) {
            const struct btf_type *t = btf__type_by_id(btf, vs->type);
            if (strcmp(btf__name_by_offset(btf, t->name_off), var) != 0)
                continue;
            if (vs->size != size || vs->offset + size > data_size)
                return -EINVAL;
            memcpy(data + vs->offset, value, size);
            return 0;
        }
        return -ENOENT;
    }
    return -ENOENT;
}

int spy_tc_attach(int ifindex, int ingress, int prog_fd, uint32_t handle, uint32_t priority, int *created)
{
    LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
                .attach_point = ingress ? BPF_TC_INGRESS : BPF_TC_EGRESS);
    int err = bpf_tc_hook_create(&hook);
    *created = err == 0;
    if (err && err != -EEXIST)
        return err;
    /* REPLACE: a hook left behind by a crashed run at our (handle, priority) is taken over, never duplicated. */
    LIBBPF_OPTS(bpf_tc_opts, opts, .prog_fd = prog_fd, .handle = handle, .priority = priority,
                .flags = BPF_TC_F_REPLACE);
    return bpf_tc_attach(&hook, &opts);
}

int spy_tc_detach(int ifindex, int ingress, uint32_t handle, uint32_t priority)
{
    LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
                .attach_point = ingress ? BPF_TC_INGRESS : BPF_TC_EGRESS);
    LIBBPF_OPTS(bpf_tc_opts, opts, .handle = handle, .priority = priority);
    return bpf_tc_detach(&hook, &opts);
}

int spy_tc_query(int ifindex, int ingress, uint32_t handle, uint32_t priority, uint32_t *prog_id)
{
    LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
                .attach_point = ingress ? BPF_TC_INGRESS : BPF_TC_EGRESS);
    LIBBPF_OPTS(bpf_tc_opts, opts, .handle = handle, .priority = priority);
    int err = bpf_tc_query(&hook, &opts);
    if (err)
        return err;
    *prog_id = opts.prog_id;
    return 0;
}

int spy_prog_name(uint32_t prog_id, char *buf, size_t size)
{
    int fd = bpf_prog_get_fd_by_id(prog_id);
    if (fd < 0)
        return -errno;
    struct bpf_prog_info info;
    memset(&info, 0, sizeof(info));
    uint32_t len = sizeof(info);
    int err = bpf_obj_get_info_by_fd(fd, &info, &len);
    close(fd);
    if (err)
        return -errno;
    snprintf(buf, size, "%s", info.name);
    return 0;
}

uint32_t spy_prog_id(int prog_fd)
{
    struct bpf_prog_info info;
    memset(&info, 0, sizeof(info));
    uint32_t len = sizeof(info);
    if (bpf_obj_get_info_by_fd(prog_fd, &info, &len))
        return 0;
    return info.id;
}

int spy_prog_test_run(int prog_fd, const void *data_in, uint32_t size_in, void *data_out, uint32_t *size_out,
                      uint32_t *retval, uint32_t repeat, uint32_t *duration_ns)
{
    LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = data_in, .data_size_in = size_in, .data_out = data_out,
                .data_size_out = *size_out, .repeat = repeat);
    int err = bpf_prog_test_run_opts(prog_fd, &opts);
    if (err)
        return -errno;
    *size_out = opts.data_size_out;
    *retval = opts.retval;
    if (duration_ns)
        *duration_ns = opts.duration;
    return 0;
}

int spy_load_empty_tc_prog(void)
{
    /* r0 = TC_ACT_OK; exit: the test-run loop's own cost per packet, measured next to the real program. */
    struct bpf_insn insns[] = {
        { .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0 },
        { .code = BPF_JMP | BPF_EXIT },
    };
    int fd = bpf_prog_load(BPF_PROG_TYPE_SCHED_CLS, "spy_empty_tc", "GPL", insns, 2, NULL);
    return fd < 0 ? -errno : fd;
}

int spy_iface_driver(const char *ifname, char *buf, size_t size)
{
    struct ethtool_drvinfo info;
    struct ifreq ifr;
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    memset(&info, 0, sizeof(info));
    memset(&ifr, 0, sizeof(ifr));
    info.cmd = ETHTOOL_GDRVINFO;
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
    ifr.ifr_data = (void *)&info;
    int err = ioctl(fd, SIOCETHTOOL, &ifr) < 0 ? -errno : 0;
    close(fd);
    if (!err)
        snprintf(buf, size, "%s", info.driver);
    return err;
}

#include <sys/stat.h>

int spy_btf_enum(const char *enum_name, int64_t *values, char (*names)[64], int max)
{
    struct btf *btf = btf__load_vmlinux_btf();
    long e = libbpf_get_error(btf);
    if (e)
        return (int)e;
    int n = 0;
    int id = btf__find_by_name_kind(btf, enum_name, BTF_KIND_ENUM);
    if (id > 0) {
        const struct btf_type *t = btf__type_by_id(btf, id);
        const struct btf_enum *en = btf_enum(t);
        for (int i = 0; i < btf_vlen(t) && n < max; i++, n++) {
            values[n] = en[i].val;
            snprintf(names[n], 64, "%s", btf__name_by_offset(btf, en[i].name_off));
        }
    } else {
        id = btf__find_by_name_kind(btf, enum_name, BTF_KIND_ENUM64);
        if (id <= 0) {
            btf__free(btf);
            return -ENOENT;
        }
        const struct btf_type *t = btf__type_by_id(btf, id);
        const struct btf_enum64 *en = btf_enum64(t);
        for (int i = 0; i < btf_vlen(t) && n < max; i++, n++) {
            values[n] = (int64_t)btf_enum64_value(&en[i]);
            snprintf(names[n], 64, "%s", btf__name_by_offset(btf, en[i].name_off));
        }
    }
    btf__free(btf);
    return n;
}

int spy_btf_typedef_params(const char *typedef_name)
{
    struct btf *btf = btf__load_vmlinux_btf();
    long e = libbpf_get_error(btf);
    if (e)
        return (int)e;
    int id = btf__find_by_name_kind(btf, typedef_name, BTF_KIND_TYPEDEF);
    int result = -ENOENT;
    if (id > 0) {
        const struct btf_type *t = btf__type_by_id(btf, id);
        t = btf__type_by_id(btf, t->type); /* pointer */
        if (t && btf_is_ptr(t))
            t = btf__type_by_id(btf, t->type);
        if (t && btf_is_func_proto(t))
            result = btf_vlen(t);
    }
    btf__free(btf);
    return result;
}

uint32_t spy_netns_inum(void)
{
    struct stat st;
    if (stat("/proc/self/ns/net", &st) != 0)
        return 0;
    return (uint32_t)st.st_ino;
}

/* CONFIG_HZ of the running kernel, from its config (/boot/config-<release>, or /proc/config.gz through zlib, which
 * libbpf already depends on); 0 when neither is readable. The tc program counts aggregation intervals in jiffies. */
static uint32_t spy_hz_from_line(const char *line)
{
    unsigned hz = 0;
    if (sscanf(line, "CONFIG_HZ=%u", &hz) == 1 && hz >= 24 && hz <= 10000)
        return hz;
    return 0;
}

uint32_t spy_kernel_hz(void)
{
    char line[256];
    struct utsname u;
    if (uname(&u) == 0) {
        char path[128 + sizeof(u.release)];
        snprintf(path, sizeof(path), "/boot/config-%s", u.release);
        FILE *f = fopen(path, "r");
        if (f) {
            uint32_t hz = 0;
            while (!hz && fgets(line, sizeof(line), f))
                hz = spy_hz_from_line(line);
            fclose(f);
            if (hz)
                return hz;
        }
    }
    gzFile gz = gzopen("/proc/config.gz", "rb");
    if (!gz)
        return 0;
    uint32_t hz = 0;
    while (!hz && gzgets(gz, line, sizeof(line)))
        hz = spy_hz_from_line(line);
    gzclose(gz);
    return hz;
}
