/* cio_strerror: the text for a negative errno value returned by corio. */
#include <stdlib.h>
#include <string.h>

#include "corio.h"

const char *cio_strerror(int err)
{
    /* Thread-local, so concurrent callers never share a buffer. */
    static _Thread_local char buf[128];
    int code = err < 0 ? -err : err;
    return strerror_r(code, buf, sizeof buf);
}
