/* Read-only rtnetlink queries used to give every interface a role (Sources/SpyglassDatapath/InterfaceRoles.swift):
 * the addresses of the agent's network namespace and the interfaces that carry a default route. */
#ifndef SPYGLASS_RTNL_H
#define SPYGLASS_RTNL_H

#include <stdint.h>

/* One interface address (RTM_GETADDR). IPv4 addresses fill the first 4 bytes of `addr`, the rest is zero. */
struct spy_rtnl_addr {
    uint32_t ifindex;
    uint8_t family;    /* AF_INET or AF_INET6 */
    uint8_t scope;     /* RT_SCOPE_*: 0 universe (global), 200 site, 253 link, 254 host */
    uint8_t prefixlen;
    uint8_t pad;
    uint8_t addr[16];
};

/* Fills `out` with up to `max` addresses of the current network namespace; returns how many, or -errno. */
int spy_rtnl_addresses(struct spy_rtnl_addr *out, int max);

/* Fills `out` with the output interfaces of IPv4 and IPv6 default routes of the main table (multipath next hops
 * included, duplicates possible); returns how many, or -errno. */
int spy_rtnl_default_route_ifindexes(uint32_t *out, int max);

/* A VXLAN or Geneve interface and its UDP destination port (host order). */
struct spy_rtnl_tunnel {
    uint32_t ifindex;
    uint16_t port;
    uint8_t kind; /* 1 vxlan, 2 geneve */
    uint8_t pad;
};

/* Fills `out` with up to `max` VXLAN/Geneve interfaces of the current network namespace; returns how many, or
 * -errno. */
int spy_rtnl_tunnels(struct spy_rtnl_tunnel *out, int max);

#endif
