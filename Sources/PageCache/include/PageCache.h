#ifndef PAGE_CACHE_H
#define PAGE_CACHE_H

#include <stddef.h>
#include <sys/types.h>

/// Reads up to `length` bytes at `offset` of `fd` only as far as the page cache already holds
/// them (Linux `preadv2` with `RWF_NOWAIT`). Returns the bytes read; -1 with errno EAGAIN when
/// the first byte is not cached (the kernel then starts reading it in, without waiting); -1 with
/// another errno (EOPNOTSUPP where the kernel or file system cannot tell) otherwise.
/// Swift's Glibc module does not declare `preadv2`, which needs _GNU_SOURCE.
ssize_t cached_pread(int fd, void *buffer, size_t length, off_t offset);

/// Starts writeback of the dirty pages of `[offset, offset + count)` of `fd` without waiting for
/// it (Linux `sync_file_range` with `SYNC_FILE_RANGE_WRITE`). Returns 0, or -1 with errno.
int start_writeback(int fd, off_t offset, off_t count);

#endif
