/* The rules a fired report goes through before its callback: masked by
 * the interest as it is when the callback would run (an earlier callback
 * of the same iteration may have changed it), dropped without interest,
 * and an error or hang-up reported with every bit of interest and no
 * other (select has no error set: there, only the bits asked).
 * CIO_TEST_ALL_BACKENDS */
#include <corio/loop.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.h"

enum { NPAIRS = 6 };
static int fds[NPAIRS][2];
static int calls[NPAIRS];
static int last[NPAIRS]; /* events of each one's last callback */
static int changed;      /* the first callback changed the others */

static void pair(int sv[2])
{
    CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
}

/* The interest the first callback of an iteration gives to pair i: none,
 * or write only (whatever fired was a read, or a hang-up). */
static int new_interest(int i)
{
    return i % 2 ? 0 : CIO_WRITABLE;
}

static void on_io(cio_loop_t *loop, int fd, int events, void *data)
{
    int me = (int)(intptr_t)data;
    calls[me]++;
    last[me] = events;
    if (changed)
        return;
    changed = 1;
    for (int i = 0; i < NPAIRS; i++)
        if (i != me)
            CHECK_EQ(cio_loop_modify(loop, fds[i][0], new_interest(i)), 0);
}

static int is_select(cio_loop_t *loop)
{
    return strcmp(cio_loop_backend(loop), "select") == 0;
}

/* What pair i's callback got in the first iteration (first: the pair whose
 * callback ran first). A read report is masked out by the new interest; a
 * hang-up is an error, reported with whatever interest is left. */
static int expected(cio_loop_t *loop, int i, int first, int hangup)
{
    int err = hangup && !is_select(loop);
    int interest = i == first ? CIO_READABLE : new_interest(i);
    return err && interest ? interest | CIO_ERROR
           : i == first    ? CIO_READABLE
                           : 0;
}

/* All pairs fire readable in one iteration (data, or the peer gone); the
 * first callback drops the others' interest or turns it to write only. */
static void test_masked_in_iteration(cio_loop_t *loop, int hangup)
{
    memset(calls, 0, sizeof calls);
    memset(last, 0, sizeof last);
    changed = 0;
    for (int i = 0; i < NPAIRS; i++) {
        pair(fds[i]);
        CHECK_EQ(cio_loop_register(loop, fds[i][0], CIO_READABLE, on_io,
                                   (void *)(intptr_t)i),
                 0);
        if (hangup) {
            close(fds[i][1]);
            fds[i][1] = -1;
        } else {
            CHECK_EQ(write(fds[i][1], "x", 1), 1);
        }
    }
    CHECK_EQ(cio_loop_run(loop, CIO_RUN_ONCE), 1);
    int first = -1;
    for (int i = 0; i < NPAIRS; i++) {
        if (calls[i] && (last[i] & CIO_READABLE)) {
            CHECK_EQ(first, -1); /* only the first keeps read interest */
            first = i;
        }
    }
    CHECK(first >= 0);
    for (int i = 0; i < NPAIRS; i++) {
        int want = expected(loop, i, first, hangup);
        CHECK_EQ(calls[i], want != 0);
        CHECK_EQ(last[i], want);
    }
    /* Next iteration: the new interest is what is reported. */
    memset(calls, 0, sizeof calls);
    CHECK_EQ(cio_loop_run(loop, CIO_RUN_NOWAIT), 1);
    for (int i = 0; i < NPAIRS; i++) {
        int want = i == first             ? expected(loop, i, first, hangup)
                   : new_interest(i) == 0 ? 0
                   : hangup && !is_select(loop) ? CIO_WRITABLE | CIO_ERROR
                                                : CIO_WRITABLE;
        CHECK_EQ(calls[i], want != 0);
        if (want)
            CHECK_EQ(last[i], want);
    }
    for (int i = 0; i < NPAIRS; i++) {
        CHECK_EQ(cio_loop_unregister(loop, fds[i][0]), 0);
        close(fds[i][0]);
        if (fds[i][1] >= 0)
            close(fds[i][1]);
    }
}

static int got;

static void record(cio_loop_t *loop, int fd, int events, void *data)
{
    got = events;
}

/* A hang-up comes with every bit asked, and only those. */
static void test_error_widened(cio_loop_t *loop)
{
    static const int asked[] = {CIO_READABLE, CIO_WRITABLE,
                                CIO_READABLE | CIO_WRITABLE};
    for (size_t k = 0; k < sizeof asked / sizeof *asked; k++) {
        int sv[2];
        pair(sv);
        CHECK_EQ(cio_loop_register(loop, sv[0], asked[k], record, NULL), 0);
        close(sv[1]);
        got = 0;
        CHECK_EQ(cio_loop_run(loop, CIO_RUN_ONCE), 1);
        if (is_select(loop)) {
            CHECK(got != 0);
            CHECK_EQ(got & ~asked[k], 0);
        } else {
            CHECK_EQ(got, asked[k] | CIO_ERROR);
        }
        CHECK_EQ(cio_loop_unregister(loop, sv[0]), 0);
        close(sv[0]);
    }
}

int main(void)
{
    cio_loop_t *loop;
    CHECK_EQ(cio_loop_new(&loop, NULL), 0);
    test_masked_in_iteration(loop, 0);
    test_masked_in_iteration(loop, 1);
    test_error_widened(loop);
    CHECK_EQ(cio_loop_run(loop, CIO_RUN_DEFAULT), 0);
    cio_loop_free(loop);
    printf("ok\n");
    return 0;
}
