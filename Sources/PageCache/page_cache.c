#define _GNU_SOURCE
#include "PageCache.h"
#include <errno.h>
#include <sys/uio.h>
#include <fcntl.h>

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
