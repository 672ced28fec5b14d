/* The few kernel structs the drop program reads, declared by hand with CO-RE relocations
 * (preserve_access_index): field offsets come from the running kernel's BTF at load time, so one object runs on
 * many kernels without a 2.8 MB vmlinux.h. Only the fields used are declared. */
#pragma once
#include <linux/types.h>

struct ns_common {
    unsigned int inum;
} __attribute__((preserve_access_index));

struct net {
    struct ns_common ns;
} __attribute__((preserve_access_index));

typedef struct {
    struct net *net;
} possible_net_t;

struct net_device {
    int ifindex;
    possible_net_t nd_net;
} __attribute__((preserve_access_index));

struct sk_buff {
    unsigned int len;
    __be16 protocol;
    __u16 transport_header;
    __u16 network_header;
    __u16 mac_header;
    unsigned int tail;
    unsigned int end;
    unsigned char *head;
    unsigned char *data;
    struct net_device *dev;
    int skb_iif;
} __attribute__((preserve_access_index));
