#ifndef CNET_LINK_H
#define CNET_LINK_H

// ioctl is variadic, so Swift cannot call it; these wrappers make the one request we need.

/// Sets IFF_UP on the interface `name` in the calling thread's network namespace. Returns 0 or -1 with errno.
int cnet_link_set_up(const char *name);

/// Returns 1 when the interface `name` has IFF_UP set, 0 when not, -1 with errno on error.
int cnet_link_is_up(const char *name);

/// Deletes the bridge `name` (taking it down first) with SIOCBRDELBR. 0, or -1 with errno (ENXIO: no such bridge).
int cnet_bridge_delete(const char *name);

/// 1 when `path` is a network namespace file (nsfs, NS_GET_NSTYPE == CLONE_NEWNET), 0 otherwise.
int cnet_is_network_namespace(const char *path);

#endif
