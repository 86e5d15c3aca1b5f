#ifndef CNET_FILE_LOCK_H
#define CNET_FILE_LOCK_H

// fcntl is variadic, so Swift cannot call it. Podman (containers/storage) locks with fcntl record locks, which
// do not interact with flock; open-file-description locks conflict with those record locks but, unlike them,
// also exclude other threads of our own process and are not dropped when another descriptor of the file closes.

/// Takes (exclusive != 0: write, else read) an OFD lock on the whole file, waiting for it. 0 or -1 with errno.
int cnet_ofd_lock(int fd, int exclusive);

/// Like cnet_ofd_lock but fails with EAGAIN instead of waiting.
int cnet_ofd_trylock(int fd, int exclusive);

/// Releases the OFD lock. 0 or -1 with errno.
int cnet_ofd_unlock(int fd);

#endif
