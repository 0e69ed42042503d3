/* The hub's fd table: a state per fd, in pages that never move, made on
 * first use; what it knows of the file behind each number, checked and
 * forgotten when the number is closed or reused; its setup and its end. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io/fd_int.h"

_Static_assert(sizeof(struct cio__fd) == 64, "one cache line per fd");

struct cio__fd *cio__fd_get(struct cio__hub *hub, int fd)
{
    if (fd < 0)
        return NULL;
    size_t page = (size_t)fd / CIO__FD_PAGE;
    if (page >= cio__io(hub)->fd_npages) {
        size_t n = cio__io(hub)->fd_npages ? cio__io(hub)->fd_npages : 4;
        while (n <= page)
            n *= 2;
        struct cio__fd **pages =
            realloc(cio__io(hub)->fd_pages, n * sizeof *pages);
        if (!pages)
            return NULL;
        for (size_t i = cio__io(hub)->fd_npages; i < n; i++)
            pages[i] = NULL;
        cio__io(hub)->fd_pages = pages;
        cio__io(hub)->fd_npages = n;
    }
    if (!cio__io(hub)->fd_pages[page]) {
        size_t bytes = CIO__FD_PAGE * sizeof(struct cio__fd);
        struct cio__fd *states = aligned_alloc(_Alignof(struct cio__fd), bytes);
        if (!states)
            return NULL;
        memset(states, 0, bytes);
        cio__io(hub)->fd_pages[page] = states;
    }
    return &cio__io(hub)->fd_pages[page][(size_t)fd % CIO__FD_PAGE];
}

void cio__fd_forget(struct cio__hub *hub, int fd, struct cio__fd *f)
{
    if (f->registered)
        cio_loop_unregister(cio__run(hub)->loop, fd);
    f->registered = 0;
    f->interest = 0;
    f->drained = 0;
    f->notsock = 0;
    f->nonblock = 0;
    f->known = 0;
    f->nopoll = 0;
}

int cio__fd_check(struct cio__hub *hub, int fd, struct cio__fd *f)
{
    struct stat st;
    if (fstat(fd, &st) < 0)
        return -errno;
    uint32_t ident = cio__fd_file_ident(&st);
    if (f->known && f->ident == ident)
        return 0;
    if (f->known) { /* closed behind our back; the number is reused */
        f->gen++;
        cio__fd_stream_close(hub, fd, f);
        cio__fd_wake_side(hub, &f->reader, &f->readers, -EBADF);
        cio__fd_wake_side(hub, &f->writer, &f->writers, -EBADF);
        cio__fd_forget(hub, fd, f);
    }
    f->known = 1;
    f->ident = ident;
    f->nopoll =
        S_ISREG(st.st_mode) || S_ISDIR(st.st_mode) || S_ISBLK(st.st_mode);
    return 0;
}

void cio__fd_fresh(int fd)
{
    struct cio__hub *hub = cio__hub_get();
    struct cio__fd *f = cio__fd_peek_hub(hub, fd);
    if (!f)
        return;
    /* The number was closed without cio_fd_close: whoever waited on the old
     * file waits in vain; tell them, and by the generation those its event
     * woke who have not run yet. */
    f->gen++;
    cio__fd_stream_close(hub, fd, f);
    cio__fd_wake_side(hub, &f->reader, &f->readers, -EBADF);
    cio__fd_wake_side(hub, &f->writer, &f->writers, -EBADF);
    cio__fd_forget(hub, fd, f);
}

int cio_fd_close(int fd)
{
    if (fd < 0)
        return -EBADF;
#ifdef CIO_HAVE_URING
    struct cio__hub *hub = cio__hub_get();
    /* A reply queued on the ring goes out before the file closes. */
    bool linger = hub && cio__io(hub)->uring && cio__stream_sending(hub, fd);
    cio__fd_fresh(fd);
    if (hub && cio__io(hub)->uring)
        return cio__uring_close(hub, fd, linger);
#else
    cio__fd_fresh(fd);
#endif
    if (close(fd) < 0 && errno != EINTR)
        return -errno;
    return 0;
}

void cio__fd_drop_idle(struct cio__hub *hub)
{
    cio_timer_stop(&cio__io(hub)->fd_probe); /* nobody waits on an fd */
    for (size_t p = 0; p < cio__io(hub)->fd_npages; p++) {
        struct cio__fd *page = cio__io(hub)->fd_pages[p];
        if (!page)
            continue;
        for (size_t i = 0; i < CIO__FD_PAGE; i++) {
            struct cio__fd *f = &page[i];
            if (f->registered && cio__fd_idle(f))
                cio__fd_forget(hub, (int)(p * CIO__FD_PAGE + i), f);
        }
    }
}

void cio__fd_table_init(struct cio__hub *hub)
{
    cio__timer_init(&cio__io(hub)->fd_probe, cio__run(hub)->loop, cio__fd_probe,
                    hub);
}

void cio__fd_table_free(struct cio__hub *hub)
{
    cio_timer_stop(&cio__io(hub)->fd_probe);
    for (size_t p = 0; p < cio__io(hub)->fd_npages; p++) {
        struct cio__fd *page = cio__io(hub)->fd_pages[p];
        if (!page)
            continue;
        for (size_t i = 0; i < CIO__FD_PAGE; i++)
            if (page[i].registered)
                cio_loop_unregister(cio__run(hub)->loop,
                                    (int)(p * CIO__FD_PAGE + i));
        free(page);
    }
#ifdef CIO_HAVE_URING
    cio__streams_free(hub);
#endif
    free(cio__io(hub)->fd_pages);
    cio__io(hub)->fd_pages = NULL;
    cio__io(hub)->fd_npages = 0;
    free(cio__io(hub)->fd_events);
    cio__io(hub)->fd_events = NULL;
    cio__io(hub)->fd_nevents = cio__io(hub)->fd_events_cap = 0;
}
