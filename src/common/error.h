/* Private error helpers shared by the layers. */
#ifndef CORIO_COMMON_ERROR_H
#define CORIO_COMMON_ERROR_H

/* The one mapping of a getaddrinfo() result to 0 or a negative errno:
 * -ENOENT no such name, -EAGAIN temporary failure, -ENOMEM, -EINVAL bad
 * arguments, family or service, the errno of EAI_SYSTEM (err), else -EIO. */
int cio__gai_errno(long rc, int err);

#endif
