#define _GNU_SOURCE
#include "CNetFileLock.h"

#include <fcntl.h>
#include <string.h>

static int ofd(int fd, int command, short type) {
  struct flock request;
  memset(&request, 0, sizeof(request));
  request.l_type = type;
  request.l_whence = SEEK_SET;
  request.l_start = 0;
  request.l_len = 0;
  return fcntl(fd, command, &request);
}

int cnet_ofd_lock(int fd, int exclusive) { return ofd(fd, F_OFD_SETLKW, exclusive ? F_WRLCK : F_RDLCK); }

int cnet_ofd_trylock(int fd, int exclusive) { return ofd(fd, F_OFD_SETLK, exclusive ? F_WRLCK : F_RDLCK); }

int cnet_ofd_unlock(int fd) { return ofd(fd, F_OFD_SETLK, F_UNLCK); }
