/* 100k tasks ping-ponging through queues: 50k pairs, each sending a token
 * back and forth through two queues of capacity 1.
 * CIO_TEST_ALL_BACKENDS CIO_TEST_TIMEOUT=120 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "check.h"
#include "corio.h"

enum { PAIRS = 50000, ROUNDS = 10 };

struct pair {
    cio_queue_t *ping, *pong; /* there and back */
    long hits;                /* tokens seen by both ends */
};

static struct pair *pairs;
static long finished;

static void *pinger(void *arg)
{
    struct pair *p = arg;
    void *token;
    for (intptr_t i = 0; i < ROUNDS; i++) {
        CHECK_EQ(cio_queue_put(p->ping, (void *)i, -1), 0);
        CHECK_EQ(cio_queue_get(p->pong, &token, -1), 0);
        CHECK_EQ((intptr_t)token, i + 1);
        p->hits++;
    }
    finished++;
    return NULL;
}

static void *ponger(void *arg)
{
    struct pair *p = arg;
    void *token;
    for (int i = 0; i < ROUNDS; i++) {
        CHECK_EQ(cio_queue_get(p->ping, &token, -1), 0);
        CHECK_EQ(cio_queue_put(p->pong, (void *)((intptr_t)token + 1), -1), 0);
        p->hits++;
    }
    finished++;
    return NULL;
}

static void *main_task(void *arg)
{
    (void)arg;
    pairs = calloc(PAIRS, sizeof *pairs);
    CHECK(pairs != NULL);
    for (int i = 0; i < PAIRS; i++) {
        CHECK_EQ(cio_queue_new(&pairs[i].ping, 1), 0);
        CHECK_EQ(cio_queue_new(&pairs[i].pong, 1), 0);
        CHECK_EQ(cio_task_spawn(NULL, pinger, &pairs[i]), 0);
        CHECK_EQ(cio_task_spawn(NULL, ponger, &pairs[i]), 0);
    }
    CHECK_EQ(cio_hub_task_count(), 2 * PAIRS + 1);
    return NULL;
}

int main(void)
{
    /* small stacks: 100k tasks at 16 KiB of address space each */
    cio_hub_opts_t opts = {.stack_size = 16 * 1024};
    CHECK_EQ(cio_hub_run_ex(&opts, NULL, main_task, NULL), 0);
    CHECK_EQ(finished, 2 * PAIRS);
    for (int i = 0; i < PAIRS; i++) {
        CHECK_EQ(pairs[i].hits, 2 * ROUNDS);
        cio_queue_free(pairs[i].ping);
        cio_queue_free(pairs[i].pong);
    }
    free(pairs);
    return 0;
}
