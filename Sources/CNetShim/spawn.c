#define _GNU_SOURCE
#include "CNetSpawn.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

// Everything from here to execve runs in the forked child of a multi-threaded process: only async-signal-safe
// calls, no allocation, no locks.
static void report_and_exit(int error_fd, int step, int code) {
  int message[2] = {step, code};
  ssize_t ignored = write(error_fd, message, sizeof(message));
  (void)ignored;
  _exit(127);
}

static void child_main(const char *path, char *const argv[], char *const envp[], int flags, int netns_fd,
                       int stdin_fd, int stdout_fd, int stderr_fd, int error_fd) {
  // Handlers installed by the parent must not run here, and a SIG_IGN (SIGPIPE in many servers) would be
  // inherited across exec; the plugin starts with defaults.
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
  if ((flags & CNET_SPAWN_NEW_PROCESS_GROUP) && setpgid(0, 0) != 0)
    report_and_exit(error_fd, CNET_SPAWN_STEP_SETPGID, errno);

  if (netns_fd >= 0 && setns(netns_fd, CLONE_NEWNET) != 0) report_and_exit(error_fd, CNET_SPAWN_STEP_SETNS, errno);

  // Move the three ends above 2 first: one of them may already sit on 0, 1 or 2 when the parent had those closed.
  int high[3] = {stdin_fd, stdout_fd, stderr_fd};
  for (int i = 0; i < 3; i++) {
    high[i] = fcntl(high[i], F_DUPFD_CLOEXEC, 3);
    if (high[i] < 0) report_and_exit(error_fd, CNET_SPAWN_STEP_DUP2, errno);
  }
  for (int i = 0; i < 3; i++) {
    if (dup2(high[i], i) < 0) report_and_exit(error_fd, CNET_SPAWN_STEP_DUP2, errno);
  }

  // Descriptors another thread opened without O_CLOEXEC must not leak into the plugin (a leaked pipe end would
  // keep someone else's reader waiting). Best effort: older kernels lack close_range.
  (void)syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC);

  execve(path, argv, envp);
  report_and_exit(error_fd, CNET_SPAWN_STEP_EXEC, errno);
}

int cnet_spawn(const char *path, char *const argv[], char *const envp[], int flags, int netns_fd, int stdin_fd,
               int stdout_fd, int stderr_fd, pid_t *pid_out, int *step_out) {
  int error_pipe[2];
  if (pipe2(error_pipe, O_CLOEXEC) != 0) {
    *step_out = CNET_SPAWN_STEP_FORK;
    return errno;
  }

  // Blocking signals on this thread keeps the parent's handlers from running in the child before it resets them.
  sigset_t all, previous;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &previous);
  pid_t pid = fork();
  if (pid == 0) {
    close(error_pipe[0]);
    child_main(path, argv, envp, flags, netns_fd, stdin_fd, stdout_fd, stderr_fd, error_pipe[1]);
  }
  int fork_errno = errno;
  pthread_sigmask(SIG_SETMASK, &previous, NULL);
  close(error_pipe[1]);
  if (pid < 0) {
    close(error_pipe[0]);
    *step_out = CNET_SPAWN_STEP_FORK;
    return fork_errno;
  }
  // Also from the parent, so that the group exists before anyone may kill it; EACCES after the exec is harmless.
  if (flags & CNET_SPAWN_NEW_PROCESS_GROUP) (void)setpgid(pid, pid);

  // EOF means the exec closed the pipe: success. A message means the child failed and exited.
  int message[2] = {0, 0};
  ssize_t received;
  do {
    received = read(error_pipe[0], message, sizeof(message));
  } while (received < 0 && errno == EINTR);
  close(error_pipe[0]);
  if (received == (ssize_t)sizeof(message)) {
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    *step_out = message[0];
    return message[1] != 0 ? message[1] : EIO;
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
