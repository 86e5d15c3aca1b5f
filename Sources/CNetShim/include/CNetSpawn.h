#ifndef CNET_SPAWN_H
#define CNET_SPAWN_H

// Process spawning for CNI plugins. Neither Foundation.Process nor posix_spawn can put the child into another
// network namespace before exec, and swift-subprocess 1.0.2 can crash when a child leaves stdin unread, so the
// fork/exec path lives here, where the child side can be kept to async-signal-safe calls.

#include <sys/types.h>

/// Which step of the child's preparation failed, reported together with its errno.
enum {
  CNET_SPAWN_STEP_FORK = 0,
  CNET_SPAWN_STEP_SETPGID = 1,
  CNET_SPAWN_STEP_SETNS = 2,
  CNET_SPAWN_STEP_DUP2 = 3,
  CNET_SPAWN_STEP_EXEC = 4,
  CNET_SPAWN_STEP_MOUNT = 5,
};

/// Flags of cnet_spawn.
enum {
  /// The child leads a new process group (plugins: a timeout kills the group). Without it the child stays in ours,
  /// so that an interactive command keeps the terminal.
  CNET_SPAWN_NEW_PROCESS_GROUP = 1,
};

/// Starts a child (clone with CLONE_VM | CLONE_VFORK, as posix_spawn does) that executes `path` with `argv` and
/// `envp` (both NULL-terminated).
///
/// With CNET_SPAWN_NEW_PROCESS_GROUP the child becomes the leader of its own process group. It enters the network
/// namespace behind `netns_fd` when it is not -1, takes `stdin_fd`, `stdout_fd` and `stderr_fd` as its 0, 1 and 2,
/// starts with every signal at its default disposition and an empty signal mask, and has every other descriptor
/// closed at exec.
///
/// Returns 0 and stores the child's pid in `pid_out` once the exec succeeded. Otherwise returns the errno of the
/// failed step, stores the step in `step_out`, and has already reaped the child. Only the calling thread's signal
/// mask is touched, and only until the child has exec'd.
int cnet_spawn(const char *path, char *const argv[], char *const envp[], int flags, int netns_fd, int stdin_fd,
               int stdout_fd, int stderr_fd, pid_t *pid_out, int *step_out);

/// cnet_spawn with files bind-mounted over others in a mount namespace of the child's own: before exec the child
/// unshares its mount namespace, makes every mount in it private (nothing propagates back to the host), and binds
/// each `bind_sources[i]` over `bind_targets[i]`. A container's /etc/resolv.conf and /etc/hosts, as Podman gives
/// them; the host's files are never touched.
int cnet_spawn_with_mounts(const char *path, char *const argv[], char *const envp[], int flags, int netns_fd,
                           int stdin_fd, int stdout_fd, int stderr_fd, const char *const bind_sources[],
                           const char *const bind_targets[], int bind_count, pid_t *pid_out, int *step_out);

/// pidfd_open(2): a descriptor that poll reports readable once the process exits; -1 with errno ENOSYS when the
/// kernel or the headers lack it.
int cnet_pidfd_open(pid_t pid);

/// socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC): a plugin's stdin, written with MSG_NOSIGNAL so that a plugin
/// that exits without reading it can never raise SIGPIPE in our process.
int cnet_socketpair_cloexec(int fds[2]);

/// send(2) with MSG_NOSIGNAL | MSG_DONTWAIT, which the Swift importer exposes awkwardly.
ssize_t cnet_send_nosignal(int fd, const void *buffer, size_t length);

/// Sets O_NONBLOCK on `fd`.
int cnet_set_nonblocking(int fd);

#endif
