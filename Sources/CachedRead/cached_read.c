#define _GNU_SOURCE
#include "CachedRead.h"
#include <errno.h>
#include <sys/uio.h>

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
