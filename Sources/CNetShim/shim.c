#define _GNU_SOURCE
#include "CNetShim.h"

#include <fcntl.h>
#include <malloc.h>
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

int cnet_setns(int fd, int nstype) { return setns(fd, nstype); }

int cnet_unshare(int flags) { return unshare(flags); }

int cnet_clone_newnet(void) { return CLONE_NEWNET; }

int cnet_pipe_cloexec(int fds[2]) { return pipe2(fds, O_CLOEXEC); }

pid_t cnet_gettid(void) { return (pid_t)syscall(SYS_gettid); }

size_t cnet_heap_in_use(void) { return mallinfo2().uordblks; }
