/* cio_strerror, and the one mapping of name-lookup failures to errno. */
#include <errno.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "corio.h"

const char *cio_strerror(int err)
{
    /* Thread-local, so concurrent callers never share a buffer. */
    static _Thread_local char buf[128];
    int code = err < 0 ? -err : err;
    return strerror_r(code, buf, sizeof buf);
}

int cio__gai_errno(long rc, int err)
{
    switch (rc) {
    case 0:
        return 0;
    case EAI_NONAME:
#ifdef EAI_NODATA
    case EAI_NODATA:
#endif
#ifdef EAI_ADDRFAMILY
    case EAI_ADDRFAMILY:
#endif
        return -ENOENT;
    case EAI_AGAIN:
        return -EAGAIN;
    case EAI_MEMORY:
        return -ENOMEM;
    case EAI_FAMILY:
    case EAI_BADFLAGS:
    case EAI_SERVICE:
    case EAI_SOCKTYPE:
        return -EINVAL;
    case EAI_SYSTEM:
        return err ? -err : -EIO;
    default: /* EAI_FAIL and the rest: the resolver gave up for good */
        return -EIO;
    }
}
