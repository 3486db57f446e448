#define _GNU_SOURCE
#include "PageCache.h"
#include <errno.h>
#include <sys/uio.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>

ssize_t cached_pread(int fd, void *buffer, size_t length, off_t offset) {
#if defined(__linux__) && defined(RWF_NOWAIT)
    struct iovec v = { buffer, length };
    return preadv2(fd, &v, 1, offset, RWF_NOWAIT);
#else
    (void)fd; (void)buffer; (void)length; (void)offset;
    errno = EOPNOTSUPP;
    return -1;
#endif
}

int start_writeback(int fd, off_t offset, off_t count) {
#if defined(__linux__)
    return sync_file_range(fd, offset, count, SYNC_FILE_RANGE_WRITE);
#else
    (void)fd; (void)offset; (void)count;
    errno = EOPNOTSUPP;
    return -1;
#endif
}

int open_direct_read(int fd) {
#if defined(__linux__) && defined(O_DIRECT)
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    return open(path, O_RDONLY | O_DIRECT | O_CLOEXEC);
#else
    (void)fd;
    errno = EOPNOTSUPP;
    return -1;
#endif
}

void *huge_buffer_map(size_t size) {
    const size_t huge = (size_t)2 << 20;
    if (size == 0 || size % huge != 0) { errno = EINVAL; return NULL; }
    char *p = mmap(NULL, size + huge, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return NULL;
    char *aligned = (char *)(((uintptr_t)p + huge - 1) & ~(uintptr_t)(huge - 1));
    if (aligned > p) munmap(p, (size_t)(aligned - p));
    size_t tail = (size_t)(p + size + huge - (aligned + size));
    if (tail > 0) munmap(aligned + size, tail);
#if defined(MADV_HUGEPAGE)
    madvise(aligned, size, MADV_HUGEPAGE);
#endif
    return aligned;
}

void huge_buffer_unmap(void *buffer, size_t size) {
    if (buffer) munmap(buffer, size);
}
