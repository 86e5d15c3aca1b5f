#ifndef CNET_SHIM_H
#define CNET_SHIM_H

// Glibc's Swift module does not export these (they sit behind _GNU_SOURCE or are
// macros), so each gets a tiny wrapper with a cnet_ prefix.

#include <sys/types.h>

#include "CNetFileLock.h"
#include "CNetLink.h"
#include "CNetSpawn.h"

/// setns(2): move the calling thread into the namespace behind `fd`.
int cnet_setns(int fd, int nstype);

/// unshare(2).
int cnet_unshare(int flags);

/// CLONE_NEWNET, a macro the Swift importer cannot see without _GNU_SOURCE.
int cnet_clone_newnet(void);

/// pipe2(2) with O_CLOEXEC, so that no other child inherits our pipe ends.
int cnet_pipe_cloexec(int fds[2]);

/// gettid(2): which OS thread we are on (namespaces are per thread).
pid_t cnet_gettid(void);

/// Bytes of heap in use by malloc (mallinfo2's uordblks; malloc.h is not in Glibc's Swift module). For leak checks.
size_t cnet_heap_in_use(void);

#endif
