/* The stream server: an accept loop in its own task and a task per
 * connection, optionally bounded; stopping closes the listener, lets the
 * handlers finish until a deadline and kills the rest. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/list.h"
#include "corio/io.h"
#include "corio/sync.h"
#include "hub/wait.h"

/* Kept while its handler runs: small, since a server holds many. */
struct conn {
    cio_server_t *srv;     /* the server that accepted it */
    cio_task_t *task;      /* the handler task (detached) */
    struct cio__link link; /* in the server's running handlers */
    int fd;                /* handed to the handler, which closes it */
    socklen_t peer_len;    /* the length of peer (0 if unknown) */
    /* The client's address, peer_len bytes of it. */
    _Alignas(struct sockaddr_storage) unsigned char peer[];
};

struct cio_server {
    int listen_fd;              /* closed by cio_server_stop */
    cio_server_conn_cb handler; /* runs per connection */
    void *data;                 /* handler's argument */
    cio_sem_t *slots;           /* bounds handlers (max_conns), or NULL */
    cio_task_t *acceptor;       /* the accept loop, NULL once it ended */
    struct cio__list conns;     /* running handlers, newest first */
    size_t nconns;              /* how many */
    bool stopping;              /* cio_server_stop was called */
    bool freed;                 /* free once acceptor and handlers are gone */
    struct cio__waitq idle;     /* cio_server_stop waiting for the end */
    void *user; /* the program's pointer (cio_server_set_data) */
};

static bool server_idle(const cio_server_t *srv)
{
    return !srv->acceptor && srv->nconns == 0;
}

/* Called when a task of the server ends. */
static void server_check(cio_server_t *srv)
{
    if (!server_idle(srv))
        return;
    cio__waitq_wake_all(&srv->idle, 0);
    if (srv->freed) {
        cio_sem_free(srv->slots);
        free(srv);
    }
}

static void *conn_main(void *arg)
{
    struct conn *c = arg;
    c->srv->handler(c->fd, (const struct sockaddr *)c->peer, c->peer_len,
                    c->srv->data);
    /* c is found again, not kept across the handler: this frame is under
     * its every wait (and with copied stacks frames are memory). A task's
     * argument stays until its function returns. */
    c = cio__task_arg(cio__self());
    cio_server_t *srv = c->srv;
    cio__list_remove(&srv->conns, &c->link);
    srv->nconns--;
    free(c);
    if (srv->slots)
        cio_sem_release(srv->slots);
    server_check(srv);
    return NULL;
}

/* Starts a handler for fd; 0 or -errno (fd is then closed). */
static int start_conn(cio_server_t *srv, int fd,
                      const struct sockaddr_storage *peer, socklen_t peer_len)
{
    if (peer_len > sizeof *peer)
        peer_len = sizeof *peer;
    struct conn *c = calloc(1, sizeof *c + peer_len);
    int rc = c ? cio__task_spawn_conn(&c->task, conn_main, c) : -ENOMEM;
    if (rc < 0) {
        free(c);
        cio_fd_close(fd);
        return rc;
    }
    cio__coro_set_static_name(c->task->coro, "conn");
    cio_task_detach(c->task);
    c->srv = srv;
    c->fd = fd;
    memcpy(c->peer, peer, peer_len);
    c->peer_len = peer_len;
    cio__list_push_front(&srv->conns, &c->link);
    srv->nconns++;
    return 0;
}

static void *accept_main(void *arg)
{
    cio_server_t *srv = arg;
    while (!srv->stopping) {
        if (srv->slots && cio_sem_acquire(srv->slots, -1) < 0)
            break;
        struct sockaddr_storage peer;
        socklen_t peer_len = sizeof peer;
        int fd = cio_sock_accept(srv->listen_fd, (struct sockaddr *)&peer,
                                 &peer_len, -1);
        if (fd < 0 || start_conn(srv, fd, &peer, peer_len) < 0) {
            if (srv->slots)
                cio_sem_release(srv->slots);
        }
        if (fd >= 0)
            continue;
        if (fd == -EMFILE || fd == -ENFILE || fd == -ENOBUFS || fd == -ENOMEM) {
            /* Out of descriptors: give the handlers time to close some. */
            if (cio_task_sleep(100) < 0)
                break;
            continue;
        }
        break; /* -EBADF or -ECANCELED from a stop, or a real error */
    }
    srv->acceptor = NULL;
    server_check(srv);
    return NULL;
}

int cio_server_start(cio_server_t **out, int listen_fd,
                     cio_server_conn_cb handler, void *data, size_t max_conns)
{
    if (!out || listen_fd < 0 || !handler)
        return -EINVAL;
    *out = NULL;
    cio_server_t *srv = calloc(1, sizeof *srv);
    if (!srv)
        return -ENOMEM;
    srv->listen_fd = listen_fd;
    srv->handler = handler;
    srv->data = data;
    int rc = 0;
    if (max_conns > 0)
        rc = cio_sem_new(&srv->slots, max_conns);
    if (rc == 0)
        rc = cio_task_spawn(&srv->acceptor, accept_main, srv);
    if (rc < 0) {
        cio_sem_free(srv->slots);
        free(srv);
        return rc;
    }
    cio__coro_set_static_name(srv->acceptor->coro, "acceptor");
    cio_task_detach(srv->acceptor);
    *out = srv;
    return 0;
}

static void kill_all(cio_server_t *srv)
{
    if (srv->acceptor)
        cio_task_kill(srv->acceptor);
    struct cio__link *l;
    cio__list_each (l, &srv->conns)
        cio_task_kill(cio__container_of(l, struct conn, link)->task);
}

/* Waits until the server has no task left; 0 or -errno. */
static int wait_idle(cio_server_t *srv, int64_t deadline_ms)
{
    cio_task_t *t;
    int rc = cio__enter(&t);
    if (rc < 0)
        return rc;
    while (!server_idle(srv)) {
        rc = cio__wait_in(&srv->idle, t, NULL, NULL, deadline_ms, "server stop",
                          (long)srv->nconns);
        if (rc < 0)
            return rc;
    }
    return 0;
}

int cio_server_stop(cio_server_t *srv, int64_t deadline_ms)
{
    if (!srv)
        return -EINVAL;
    if (!srv->stopping) {
        srv->stopping = true;
        if (srv->acceptor)
            cio_task_kill(srv->acceptor);
        cio_fd_close(srv->listen_fd);
        srv->listen_fd = -1;
    }
    int rc = wait_idle(srv, deadline_ms);
    if (rc == -ETIMEDOUT) {
        kill_all(srv);
        rc = wait_idle(srv, -1);
    }
    if (rc < 0) /* we cannot wait (killed, not a task): stop them anyway */
        kill_all(srv);
    return rc;
}

void cio_server_free(cio_server_t *srv)
{
    if (!srv)
        return;
    if (!srv->stopping) {
        srv->stopping = true;
        cio_fd_close(srv->listen_fd);
        srv->listen_fd = -1;
    }
    if (server_idle(srv)) {
        cio_sem_free(srv->slots);
        free(srv);
        return;
    }
    kill_all(srv);
    srv->freed = true; /* the last task to end frees it */
}

void cio_server_set_data(cio_server_t *srv, void *data)
{
    if (srv)
        srv->user = data;
}

void *cio_server_data(const cio_server_t *srv)
{
    return srv ? srv->user : NULL;
}
