/* rtnetlink dumps (addresses, default routes) for interface-role detection. Only reads: no request changes
 * anything. A dump is bounded by the caller's array; replies are read until NLMSG_DONE. */
#include "spyglass_rtnl.h"

#include <errno.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct spy_rtnl_sink {
    struct spy_rtnl_addr *addrs;
    struct spy_rtnl_tunnel *tunnels;
    uint32_t *ifindexes;
    int max;
    int count;
};

typedef void (*spy_rtnl_handler)(struct nlmsghdr *nh, struct spy_rtnl_sink *sink);

static int spy_rtnl_dump(uint16_t type, uint8_t family, spy_rtnl_handler handler, struct spy_rtnl_sink *sink)
{
    int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    if (fd < 0)
        return -errno;
    struct {
        struct nlmsghdr nh;
        struct ifinfomsg rt; /* the largest header; every one starts with the family byte */
    } req;
    memset(&req, 0, sizeof(req));
    size_t body = type == RTM_GETADDR ? sizeof(struct ifaddrmsg)
                : type == RTM_GETLINK ? sizeof(struct ifinfomsg) : sizeof(struct rtmsg);
    req.nh.nlmsg_len = NLMSG_LENGTH(body);
    req.nh.nlmsg_type = type;
    req.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    req.nh.nlmsg_seq = 1;
    req.rt.ifi_family = family;
    struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
    if (sendto(fd, &req, req.nh.nlmsg_len, 0, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        int e = -errno;
        close(fd);
        return e;
    }
    static __thread char buf[32768];
    int err = 0, done = 0;
    while (!done) {
        int n = (int)recv(fd, buf, sizeof(buf), 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            err = -errno;
            break;
        }
        if (n == 0)
            break;
        for (struct nlmsghdr *nh = (struct nlmsghdr *)buf; NLMSG_OK(nh, n); nh = NLMSG_NEXT(nh, n)) {
            if (nh->nlmsg_type == NLMSG_DONE) {
                done = 1;
                break;
            }
            if (nh->nlmsg_type == NLMSG_ERROR) {
                struct nlmsgerr *e = NLMSG_DATA(nh);
                err = e->error ? e->error : -EIO;
                done = 1;
                break;
            }
            if (nh->nlmsg_type == type - 2 /* RTM_NEW* answers RTM_GET* */ && sink->count < sink->max)
                handler(nh, sink);
        }
    }
    close(fd);
    return err ? err : sink->count;
}

static void spy_rtnl_on_addr(struct nlmsghdr *nh, struct spy_rtnl_sink *sink)
{
    struct ifaddrmsg *ifa = NLMSG_DATA(nh);
    if (ifa->ifa_family != AF_INET && ifa->ifa_family != AF_INET6)
        return;
    int len = (int)IFA_PAYLOAD(nh);
    const void *local = 0, *address = 0;
    for (struct rtattr *a = IFA_RTA(ifa); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
        if (a->rta_type == IFA_LOCAL)
            local = RTA_DATA(a);
        else if (a->rta_type == IFA_ADDRESS)
            address = RTA_DATA(a);
    }
    /* IFA_LOCAL is the interface's own address on point-to-point links; IFA_ADDRESS elsewhere. */
    const void *own = local ? local : address;
    if (!own)
        return;
    struct spy_rtnl_addr *out = &sink->addrs[sink->count++];
    memset(out, 0, sizeof(*out));
    out->ifindex = ifa->ifa_index;
    out->family = ifa->ifa_family;
    out->scope = ifa->ifa_scope;
    out->prefixlen = ifa->ifa_prefixlen;
    memcpy(out->addr, own, ifa->ifa_family == AF_INET ? 4 : 16);
}

static void spy_rtnl_on_route(struct nlmsghdr *nh, struct spy_rtnl_sink *sink)
{
    struct rtmsg *rt = NLMSG_DATA(nh);
    if (rt->rtm_dst_len != 0 || rt->rtm_type != RTN_UNICAST)
        return;
    int len = (int)RTM_PAYLOAD(nh);
    uint32_t table = rt->rtm_table;
    for (struct rtattr *a = RTM_RTA(rt); RTA_OK(a, len); a = RTA_NEXT(a, len))
        if (a->rta_type == RTA_TABLE)
            table = *(uint32_t *)RTA_DATA(a);
    if (table != RT_TABLE_MAIN)
        return;
    len = (int)RTM_PAYLOAD(nh);
    for (struct rtattr *a = RTM_RTA(rt); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
        if (a->rta_type == RTA_OIF && sink->count < sink->max) {
            sink->ifindexes[sink->count++] = *(uint32_t *)RTA_DATA(a);
        } else if (a->rta_type == RTA_MULTIPATH) {
            struct rtnexthop *nhp = RTA_DATA(a);
            int left = (int)RTA_PAYLOAD(a);
            while (left >= (int)sizeof(*nhp) && nhp->rtnh_len >= sizeof(*nhp) && nhp->rtnh_len <= left &&
                   sink->count < sink->max) {
                sink->ifindexes[sink->count++] = (uint32_t)nhp->rtnh_ifindex;
                left -= RTNH_ALIGN(nhp->rtnh_len);
                nhp = RTNH_NEXT(nhp);
            }
        }
    }
}

int spy_rtnl_addresses(struct spy_rtnl_addr *out, int max)
{
    struct spy_rtnl_sink sink = {.addrs = out, .max = max};
    return spy_rtnl_dump(RTM_GETADDR, AF_UNSPEC, spy_rtnl_on_addr, &sink);
}

int spy_rtnl_default_route_ifindexes(uint32_t *out, int max)
{
    struct spy_rtnl_sink sink = {.ifindexes = out, .max = max};
    return spy_rtnl_dump(RTM_GETROUTE, AF_UNSPEC, spy_rtnl_on_route, &sink);
}

static void spy_rtnl_on_link(struct nlmsghdr *nh, struct spy_rtnl_sink *sink)
{
    struct ifinfomsg *ifi = NLMSG_DATA(nh);
    int len = (int)(nh->nlmsg_len - NLMSG_LENGTH(sizeof(*ifi)));
    for (struct rtattr *a = IFLA_RTA(ifi); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
        if (a->rta_type != IFLA_LINKINFO)
            continue;
        uint8_t kind = 0;
        uint16_t port = 0;
        int ilen = (int)RTA_PAYLOAD(a);
        for (struct rtattr *i = RTA_DATA(a); RTA_OK(i, ilen); i = RTA_NEXT(i, ilen)) {
            if (i->rta_type == IFLA_INFO_KIND) {
                if (RTA_PAYLOAD(i) >= 5 && !memcmp(RTA_DATA(i), "vxlan", 5))
                    kind = 1;
                else if (RTA_PAYLOAD(i) >= 6 && !memcmp(RTA_DATA(i), "geneve", 6))
                    kind = 2;
            }
        }
        if (!kind)
            return;
        ilen = (int)RTA_PAYLOAD(a);
        for (struct rtattr *i = RTA_DATA(a); RTA_OK(i, ilen); i = RTA_NEXT(i, ilen)) {
            if (i->rta_type != IFLA_INFO_DATA)
                continue;
            int dlen = (int)RTA_PAYLOAD(i);
            for (struct rtattr *d = RTA_DATA(i); RTA_OK(d, dlen); d = RTA_NEXT(d, dlen)) {
                if ((kind == 1 && d->rta_type == IFLA_VXLAN_PORT) || (kind == 2 && d->rta_type == IFLA_GENEVE_PORT)) {
                    const uint8_t *b = RTA_DATA(d); /* network order */
                    port = (uint16_t)(b[0] << 8 | b[1]);
                }
            }
        }
        struct spy_rtnl_tunnel *out = &sink->tunnels[sink->count++];
        out->ifindex = (uint32_t)ifi->ifi_index;
        out->port = port;
        out->kind = kind;
        out->pad = 0;
        return;
    }
}

int spy_rtnl_tunnels(struct spy_rtnl_tunnel *out, int max)
{
    struct spy_rtnl_sink sink = {.tunnels = out, .max = max};
    return spy_rtnl_dump(RTM_GETLINK, AF_UNSPEC, spy_rtnl_on_link, &sink);
}
