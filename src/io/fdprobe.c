/* Waits that last check the file behind their fd now and then: a number
 * closed with plain close() and reused keeps the old file's interest, gone
 * from the kernel with it, and would never fire. */
#include "io/fd_int.h"

/* How many probe points a wait of age ms has passed. */
static int64_t probe_points(int64_t age)
{
    if (age < PROBE_MS)
        return 0;
    if (age >= PROBE_MAX_MS)
        return 6 + (age - PROBE_MAX_MS) / PROBE_MAX_MS;
    int64_t n = 1;
    for (int64_t at = 2 * PROBE_MS; at <= age; at *= 2)
        n++;
    return n;
}

/* When the oldest wait on f began, or -1 if nobody waits. */
static int64_t oldest_wait(const struct cio__fd *f)
{
    int64_t since = -1;
    const cio_task_t *w[4] = {f->reader, f->writer,
                              cio__waitq_first(&f->readers),
                              cio__waitq_first(&f->writers)};
    for (int i = 0; i < 4; i++)
        if (w[i] && (since < 0 || w[i]->wait_since < since))
            since = w[i]->wait_since;
    return since;
}

/* Checks the file behind a waited-on fd: if the number was closed behind
 * our back and reused, its waiters wait again, on the new file. */
static void probe(struct cio__hub *hub, int fd, struct cio__fd *f)
{
    struct stat st;
    if (fstat(fd, &st) == 0 && cio__fd_file_ident(&st) == f->ident)
        return;
    cio__fd_wake_side(hub, &f->reader, &f->readers, WAKE_RECHECK);
    cio__fd_wake_side(hub, &f->writer, &f->writers, WAKE_RECHECK);
    cio__fd_forget(hub, fd, f);
}

void cio__fd_probe(cio_timer_t *timer)
{
    struct cio__hub *hub = timer->data;
    int64_t now = cio_loop_now(cio__run(hub)->loop),
            last = cio__io(hub)->fd_probe_last;
    cio__io(hub)->fd_probe_last = now;
    if (!cio__io(hub)->fd_waiters) {
        cio_timer_stop(timer);
        return;
    }
    for (size_t p = 0; p < cio__io(hub)->fd_npages; p++) {
        struct cio__fd *page = cio__io(hub)->fd_pages[p];
        for (size_t i = 0; page && i < CIO__FD_PAGE; i++) {
            struct cio__fd *f = &page[i];
            int64_t since = f->registered ? oldest_wait(f) : -1;
            if (since < 0 || now - since < PROBE_MS)
                continue;
            int64_t before = last > since ? last - since : 0;
            if (probe_points(now - since) > probe_points(before))
                probe(hub, (int)(p * CIO__FD_PAGE + i), f);
        }
    }
}
