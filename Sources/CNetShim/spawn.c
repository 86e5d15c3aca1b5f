#define _GNU_SOURCE
#include "CNetSpawn.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

// What the child needs, and where it reports a failed step. The child shares our memory (CLONE_VM) and we are
// suspended until it has exec'd or exited (CLONE_VFORK), so it writes the failure here instead of into a pipe.
struct spawn_request {
  const char *path;
  char *const *argv;
  char *const *envp;
  int flags;
  int netns_fd;
  int stdio[3];
  const char *const *bind_sources;
  const char *const *bind_targets;
  int bind_count;
  volatile int failed;
  volatile int failed_step;
  volatile int failed_errno;
};

// Everything from here to execve runs in the child, on a stack of its own but in our address space and with our
// thread's TLS: only async-signal-safe calls, no allocation, no locks, and nothing written but the request's
// failure fields and errno (which belongs to the suspended thread that called us).
static void report_and_exit(struct spawn_request *request, int step, int code) {
  request->failed_step = step;
  request->failed_errno = code;
  request->failed = 1;
  _exit(127);
}

static int child_main(void *argument) {
  struct spawn_request *request = argument;
  // Handlers installed by the parent must not run here, and a SIG_IGN (SIGPIPE in many servers) would be
  // inherited across exec; the plugin starts with defaults. Without CLONE_SIGHAND this changes only the child.
  struct sigaction default_action;
  memset(&default_action, 0, sizeof(default_action));
  default_action.sa_handler = SIG_DFL;
  for (int signal_number = 1; signal_number < NSIG; signal_number++) {
    if (signal_number == SIGKILL || signal_number == SIGSTOP) continue;
    (void)sigaction(signal_number, &default_action, NULL);
  }
  sigset_t empty;
  sigemptyset(&empty);
  (void)sigprocmask(SIG_SETMASK, &empty, NULL);

  // Its own group, so that a timeout can kill the plugin together with everything it started.
  if ((request->flags & CNET_SPAWN_NEW_PROCESS_GROUP) && setpgid(0, 0) != 0)
    report_and_exit(request, CNET_SPAWN_STEP_SETPGID, errno);

  if (request->netns_fd >= 0 && setns(request->netns_fd, CLONE_NEWNET) != 0)
    report_and_exit(request, CNET_SPAWN_STEP_SETNS, errno);

  // The clone shares no fs struct with us (no CLONE_FS), so the child may take a mount namespace of its own.
  if (request->bind_count > 0) {
    if (unshare(CLONE_NEWNS) != 0) report_and_exit(request, CNET_SPAWN_STEP_MOUNT, errno);
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0) report_and_exit(request, CNET_SPAWN_STEP_MOUNT, errno);
    for (int i = 0; i < request->bind_count; i++) {
      if (mount(request->bind_sources[i], request->bind_targets[i], NULL, MS_BIND, NULL) != 0)
        report_and_exit(request, CNET_SPAWN_STEP_MOUNT, errno);
    }
  }

  // Move the three ends above 2 first: one of them may already sit on 0, 1 or 2 when the parent had those closed.
  int high[3];
  for (int i = 0; i < 3; i++) {
    high[i] = fcntl(request->stdio[i], F_DUPFD_CLOEXEC, 3);
    if (high[i] < 0) report_and_exit(request, CNET_SPAWN_STEP_DUP2, errno);
  }
  for (int i = 0; i < 3; i++) {
    if (dup2(high[i], i) < 0) report_and_exit(request, CNET_SPAWN_STEP_DUP2, errno);
  }

  // Descriptors another thread opened without O_CLOEXEC must not leak into the plugin (a leaked pipe end would
  // keep someone else's reader waiting). Best effort: older kernels lack close_range.
  (void)syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC);

  execve(request->path, request->argv, request->envp);
  report_and_exit(request, CNET_SPAWN_STEP_EXEC, errno);
  return 127;
}

int cnet_spawn(const char *path, char *const argv[], char *const envp[], int flags, int netns_fd, int stdin_fd,
               int stdout_fd, int stderr_fd, pid_t *pid_out, int *step_out) {
  return cnet_spawn_with_mounts(path, argv, envp, flags, netns_fd, stdin_fd, stdout_fd, stderr_fd, NULL, NULL, 0,
                                pid_out, step_out);
}

int cnet_spawn_with_mounts(const char *path, char *const argv[], char *const envp[], int flags, int netns_fd,
                           int stdin_fd, int stdout_fd, int stderr_fd, const char *const bind_sources[],
                           const char *const bind_targets[], int bind_count, pid_t *pid_out, int *step_out) {
  struct spawn_request request = {
      .path = path,
      .argv = argv,
      .envp = envp,
      .flags = flags,
      .netns_fd = netns_fd,
      .stdio = {stdin_fd, stdout_fd, stderr_fd},
      .bind_sources = bind_sources,
      .bind_targets = bind_targets,
      .bind_count = bind_count,
  };
  // The child's stack. This thread sleeps until the child has exec'd or exited, so a part of its own stack is
  // free for that long; the child's frames need a few hundred bytes.
  _Alignas(16) char stack[16 * 1024];

  // clone(CLONE_VM | CLONE_VFORK), as posix_spawn does, instead of fork: a fork of a multi-threaded process
  // write-protects every page we own and copies our page tables, and each later write of ours then takes a
  // copy-on-write fault (a fifth of cnet's own CPU time per setup was spent there).
  // Blocking signals on this thread keeps the parent's handlers from running in the child before it resets them.
  sigset_t all, previous;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &previous);
  pid_t pid = clone(child_main, stack + sizeof(stack), CLONE_VM | CLONE_VFORK | SIGCHLD, &request);
  int clone_errno = errno;
  pthread_sigmask(SIG_SETMASK, &previous, NULL);
  if (pid < 0) {
    *step_out = CNET_SPAWN_STEP_FORK;
    return clone_errno;
  }
  if (request.failed) {
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    *step_out = request.failed_step;
    return request.failed_errno != 0 ? request.failed_errno : EIO;
  }
  *pid_out = pid;
  return 0;
}

int cnet_pidfd_open(pid_t pid) {
#ifdef SYS_pidfd_open
  return (int)syscall(SYS_pidfd_open, pid, 0);
#else
  (void)pid;
  errno = ENOSYS;
  return -1;
#endif
}

int cnet_socketpair_cloexec(int fds[2]) { return socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds); }

ssize_t cnet_send_nosignal(int fd, const void *buffer, size_t length) {
  return send(fd, buffer, length, MSG_NOSIGNAL | MSG_DONTWAIT);
}

int cnet_set_nonblocking(int fd) {
  int flags = fcntl(fd, F_GETFL);
  if (flags < 0) return -1;
  return fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}
