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

/// Opens the file of `fd` again, read-only, for reads that bypass the page cache (Linux
/// `O_DIRECT`, through `/proc/self/fd`). Returns the new descriptor, or -1 with errno (EINVAL where
/// the file system refuses direct I/O, ENOENT without /proc, EOPNOTSUPP off Linux).
int open_direct_read(int fd);

/// Maps `size` bytes (a multiple of 2 MiB) of zeroed anonymous memory aligned to 2 MiB and asks
/// for transparent huge pages on it (`MADV_HUGEPAGE`), so a direct read into it is a few large
/// physically contiguous segments instead of one per 4 KiB page. Returns NULL on failure.
void *huge_buffer_map(size_t size);

/// Unmaps a buffer of `huge_buffer_map`.
void huge_buffer_unmap(void *buffer, size_t size);

#endif
