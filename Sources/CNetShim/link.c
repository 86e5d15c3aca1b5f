#include "CNetLink.h"

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <linux/sockios.h>
#include <sched.h>
#include <sys/vfs.h>
#include <net/if.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <linux/nsfs.h>
#include <unistd.h>

static int link_flags(int fd, const char *name, struct ifreq *request) {
  memset(request, 0, sizeof(*request));
  if (strlen(name) >= IFNAMSIZ) {
    errno = EINVAL;
    return -1;
  }
  strncpy(request->ifr_name, name, IFNAMSIZ - 1);
  return ioctl(fd, SIOCGIFFLAGS, request);
}

int cnet_link_set_up(const char *name) {
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  struct ifreq request;
  int result = link_flags(fd, name, &request);
  if (result == 0 && !(request.ifr_flags & IFF_UP)) {
    request.ifr_flags |= IFF_UP;
    result = ioctl(fd, SIOCSIFFLAGS, &request);
  }
  int saved = errno;
  close(fd);
  errno = saved;
  return result;
}

int cnet_link_is_up(const char *name) {
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  struct ifreq request;
  int result = link_flags(fd, name, &request);
  int saved = errno;
  close(fd);
  errno = saved;
  if (result < 0) return -1;
  return (request.ifr_flags & IFF_UP) ? 1 : 0;
}

int cnet_is_network_namespace(const char *path) {
  struct statfs info;
  if (statfs(path, &info) != 0 || info.f_type != NSFS_MAGIC) return 0;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  int type = ioctl(fd, NS_GET_NSTYPE);
  close(fd);
  return type == CLONE_NEWNET;
}

int cnet_bridge_delete(const char *name) {
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  struct ifreq request;
  int result = link_flags(fd, name, &request);
  if (result == 0 && (request.ifr_flags & IFF_UP)) {
    request.ifr_flags &= ~IFF_UP;
    result = ioctl(fd, SIOCSIFFLAGS, &request);
  }
  if (result == 0) result = ioctl(fd, SIOCBRDELBR, name);
  int saved = errno;
  close(fd);
  errno = saved;
  return result;
}
