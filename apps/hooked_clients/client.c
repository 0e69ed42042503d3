/* A plain blocking echo client: getaddrinfo, socket, connect, write, read,
 * close, written the way anyone would without corio. It includes no corio
 * header; linked with the hook library and run in a task, each blocking
 * call waits for its socket without stopping the other tasks. */
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "client.h"

static int dial(const char *host, const char *port)
{
    struct addrinfo hints, *res, *ai;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo(host, port, &hints, &res) != 0) {
        errno = EHOSTUNREACH;
        return -1;
    }
    int fd = -1;
    for (ai = res; ai != NULL && fd < 0; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
        if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(res);
    return fd;
}

static int write_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, buf, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

static int read_full(int fd, char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = read(fd, buf, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

int echo_client(const char *host, const char *port, int id, int rounds)
{
    int fd = dial(host, port);
    if (fd < 0)
        return -1;
    int rc = 0;
    for (int round = 0; round < rounds && rc == 0; round++) {
        char line[64], reply[64];
        int len =
            snprintf(line, sizeof(line), "client %d round %d\n", id, round);
        if (write_all(fd, line, (size_t)len) != 0 ||
            read_full(fd, reply, (size_t)len) != 0 ||
            memcmp(line, reply, (size_t)len) != 0)
            rc = -1;
    }
    close(fd);
    return rc;
}
