/* The cross-thread channel: many threads posting into one hub with nothing
 * lost and each sender's order kept; bounded capacity, close, deadlines,
 * kills, plain-thread receivers, and hubs taking turns at receiving.
 * CIO_TEST_TIMEOUT=60 CIO_TEST_ALL_BACKENDS */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "check.h"
#include "corio.h"
#include "workers_net.h"

#define SENDERS 8
#define PER_SENDER 20000
#define RECEIVERS 3

static cio_chan_t *flood;
static atomic_int started;

static void *sender_thread(void *arg)
{
    uintptr_t id = (uintptr_t)arg;
    atomic_fetch_add(&started, 1);
    for (uintptr_t seq = 0; seq < PER_SENDER; seq++) {
        int r = cio_chan_send(flood, (void *)(id << 32 | seq));
        CHECK_EQ(r, 0);
        if (seq % 4096 == 0)
            sched_yield(); /* let the receiver drain and park again */
    }
    return NULL;
}

struct tally {
    uintptr_t next_seq[SENDERS]; /* expected sequence number per sender */
    long received;               /* items taken by all receivers */
    long by_receiver[RECEIVERS]; /* items taken by each receiver */
};

static void *receiver_task(void *arg)
{
    struct tally *t = arg;
    static int ids;
    int me = ids++;
    for (;;) {
        void *item;
        int r = cio_chan_recv(flood, &item, cio_deadline_in(20000));
        if (r == -EPIPE)
            return NULL;
        CHECK_EQ(r, 0);
        uintptr_t v = (uintptr_t)item, id = v >> 32, seq = v & 0xffffffffu;
        CHECK(id < SENDERS);
        /* Receivers run one at a time on one hub, so per-sender order is
         * the channel's order. */
        CHECK_EQ(seq, t->next_seq[id]);
        t->next_seq[id]++;
        t->received++;
        t->by_receiver[me]++;
    }
}

/* A task that keeps the hub busy with timers while the flood runs. */
static void *ticker_task(void *arg)
{
    atomic_bool *done = arg;
    while (!atomic_load(done))
        cio_task_sleep(1);
    return NULL;
}

static void *flood_main(void *arg)
{
    (void)arg;
    struct tally t = {0};
    atomic_bool done = false;
    cio_task_t *recv[RECEIVERS], *tick;
    for (int i = 0; i < RECEIVERS; i++)
        CHECK_EQ(cio_task_spawn(&recv[i], receiver_task, &t), 0);
    CHECK_EQ(cio_task_spawn(&tick, ticker_task, &done), 0);
    cio_task_sleep(0); /* receivers park before the senders start */
    pthread_t th[SENDERS];
    for (uintptr_t i = 0; i < SENDERS; i++)
        CHECK_EQ(pthread_create(&th[i], NULL, sender_thread, (void *)i), 0);
    while (t.received < (long)SENDERS * PER_SENDER)
        cio_task_sleep(5);
    for (int i = 0; i < SENDERS; i++)
        pthread_join(th[i], NULL);
    cio_chan_close(flood);
    CHECK_EQ(cio_task_join_all(recv, RECEIVERS, cio_deadline_in(10000)), 0);
    atomic_store(&done, true);
    CHECK_EQ(cio_task_join(tick, cio_deadline_in(10000)), 0);
    for (int i = 0; i < RECEIVERS; i++)
        cio_task_free(recv[i]);
    cio_task_free(tick);
    for (int i = 0; i < SENDERS; i++)
        CHECK_EQ(t.next_seq[i], PER_SENDER);
    CHECK_EQ(t.received, (long)SENDERS * PER_SENDER);
    printf("flood: %ld items, by receiver %ld %ld %ld\n", t.received,
           t.by_receiver[0], t.by_receiver[1], t.by_receiver[2]);
    return NULL;
}

static void test_flood(void)
{
    CHECK_EQ(cio_chan_new(&flood, 0), 0);
    CHECK_EQ(cio_hub_run(NULL, flood_main, NULL), 0);
    CHECK_EQ(cio_chan_len(flood), 0);
    cio_chan_free(flood);
}

/* ---- bounded, close, deadline, kill ---- */

static void *parked_task(void *arg)
{
    void *item;
    return (void *)(intptr_t)cio_chan_recv(arg, &item, -1);
}

static void *close_thread(void *arg)
{
    cio_chan_close(arg);
    return NULL;
}

static void *basics_main(void *arg)
{
    (void)arg;
    cio_chan_t *ch;
    CHECK_EQ(cio_chan_new(&ch, 4), 0);
    for (intptr_t i = 0; i < 4; i++)
        CHECK_EQ(cio_chan_send(ch, (void *)i), 0);
    CHECK_EQ(cio_chan_send(ch, NULL), -EAGAIN);
    CHECK_EQ(cio_chan_len(ch), 4);
    void *item;
    CHECK_EQ(cio_chan_recv(ch, &item, 0), 0);
    CHECK_EQ((intptr_t)item, 0);
    cio_chan_close(ch);
    CHECK_EQ(cio_chan_send(ch, NULL), -EPIPE);
    for (intptr_t i = 1; i < 4; i++) {
        CHECK_EQ(cio_chan_recv(ch, &item, -1), 0);
        CHECK_EQ((intptr_t)item, i);
    }
    CHECK_EQ(cio_chan_recv(ch, &item, -1), -EPIPE);
    cio_chan_free(ch);

    /* A deadline passes; nothing arrives. */
    CHECK_EQ(cio_chan_new(&ch, 0), 0);
    int64_t t0 = cio_hub_now();
    CHECK_EQ(cio_chan_recv(ch, &item, cio_deadline_in(50)), -ETIMEDOUT);
    CHECK(cio_hub_now() - t0 >= 40);
    CHECK_EQ(cio_chan_recv(ch, &item, 0), -ETIMEDOUT);

    /* A parked receiver that is killed gets -ECANCELED; the channel works
     * on afterwards. */
    cio_task_t *t;
    CHECK_EQ(cio_task_spawn(&t, parked_task, ch), 0);
    cio_task_sleep(10);
    CHECK_EQ(cio_task_kill(t), 0);
    CHECK_EQ(cio_task_join(t, cio_deadline_in(5000)), 0);
    CHECK_EQ((intptr_t)cio_task_result(t), -ECANCELED);
    cio_task_free(t);
    CHECK_EQ(cio_chan_send(ch, (void *)7), 0);
    CHECK_EQ(cio_chan_recv(ch, &item, -1), 0);
    CHECK_EQ((intptr_t)item, 7);

    /* A parked receiver woken by a close from another thread. */
    CHECK_EQ(cio_task_spawn(&t, parked_task, ch), 0);
    cio_task_sleep(10);
    pthread_t th;
    CHECK_EQ(pthread_create(&th, NULL, close_thread, ch), 0);
    CHECK_EQ(cio_task_join(t, cio_deadline_in(5000)), 0);
    CHECK_EQ((intptr_t)cio_task_result(t), -EPIPE);
    pthread_join(th, NULL);
    cio_task_free(t);
    cio_chan_free(ch);
    return NULL;
}

/* ---- plain-thread receivers and a second hub ---- */

struct pair {
    cio_chan_t *to_thread; /* a task sends, a plain thread receives */
    cio_chan_t *to_hub;    /* replies to the first hub's task */
    cio_chan_t *bound;     /* a task of the first hub waits on it */
    cio_chan_t *go;        /* tells the second hub to receive again */
    atomic_int xdev;       /* the second hub's result while one waits */
    atomic_int later;      /* the item it receives once none waits */
};

static void *echo_thread(void *arg)
{
    struct pair *p = arg;
    void *item;
    /* A deadline on CLOCK_MONOTONIC, nothing sent: times out. */
    cio_chan_t *quiet;
    CHECK_EQ(cio_chan_new(&quiet, 0), 0);
    int64_t t0 = wn_now_ms();
    CHECK_EQ(cio_chan_recv(quiet, &item, t0 + 30), -ETIMEDOUT);
    CHECK(wn_now_ms() - t0 >= 25);
    CHECK_EQ(cio_chan_recv(quiet, &item, 0), -ETIMEDOUT);
    cio_chan_free(quiet);
    for (;;) {
        int r = cio_chan_recv(p->to_thread, &item, -1);
        if (r == -EPIPE)
            return NULL;
        CHECK_EQ(r, 0);
        CHECK_EQ(cio_chan_send(p->to_hub, (void *)((intptr_t)item * 2)), 0);
    }
}

static void *second_hub_main(void *arg)
{
    struct pair *p = arg;
    void *item;
    /* A task of the first hub waits on `bound`: this hub cannot. */
    atomic_store(&p->xdev, cio_chan_recv(p->bound, &item, cio_deadline_in(10)));
    /* Sends from a task of another hub reach the first hub. */
    CHECK_EQ(cio_chan_send(p->to_hub, (void *)-1), 0);
    /* Once nothing waits there, this hub may receive from it. */
    CHECK_EQ(cio_chan_recv(p->go, &item, cio_deadline_in(10000)), 0);
    CHECK_EQ(cio_chan_recv(p->bound, &item, cio_deadline_in(10000)), 0);
    atomic_store(&p->later, (int)(intptr_t)item);
    return NULL;
}

static void *second_hub_thread(void *arg)
{
    CHECK_EQ(cio_hub_run(NULL, second_hub_main, arg), 0);
    return NULL;
}

static void *pair_main(void *arg)
{
    struct pair *p = arg;
    pthread_t th, hub2;
    CHECK_EQ(pthread_create(&th, NULL, echo_thread, p), 0);
    for (intptr_t i = 1; i <= 1000; i++) {
        CHECK_EQ(cio_chan_send(p->to_thread, (void *)i), 0);
        void *item;
        CHECK_EQ(cio_chan_recv(p->to_hub, &item, cio_deadline_in(10000)), 0);
        CHECK_EQ((intptr_t)item, i * 2);
    }
    cio_chan_close(p->to_thread);
    pthread_join(th, NULL);

    void *item;
    CHECK_EQ(cio_chan_recv(p->bound, &item, 0), -ETIMEDOUT);
    cio_task_t *parked;
    CHECK_EQ(cio_task_spawn(&parked, parked_task, p->bound), 0);
    cio_task_sleep(5);
    CHECK_EQ(pthread_create(&hub2, NULL, second_hub_thread, p), 0);
    CHECK_EQ(cio_chan_recv(p->to_hub, &item, cio_deadline_in(10000)), 0);
    CHECK_EQ((intptr_t)item, -1);
    CHECK_EQ(atomic_load(&p->xdev), -EXDEV);
    CHECK_EQ(cio_chan_send(p->bound, (void *)7), 0);
    CHECK_EQ(cio_task_join(parked, cio_deadline_in(10000)), 0);
    CHECK_EQ((intptr_t)cio_task_result(parked), 0);
    cio_task_free(parked);
    CHECK_EQ(cio_chan_send(p->bound, (void *)42), 0);
    CHECK_EQ(cio_chan_send(p->go, NULL), 0);
    pthread_join(hub2, NULL);
    CHECK_EQ(atomic_load(&p->later), 42);
    return NULL;
}

int main(void)
{
    test_flood();
    CHECK_EQ(cio_hub_run(NULL, basics_main, NULL), 0);
    struct pair p = {0};
    CHECK_EQ(cio_chan_new(&p.to_thread, 0), 0);
    CHECK_EQ(cio_chan_new(&p.to_hub, 0), 0);
    CHECK_EQ(cio_chan_new(&p.bound, 0), 0);
    CHECK_EQ(cio_chan_new(&p.go, 0), 0);
    CHECK_EQ(cio_hub_run(NULL, pair_main, &p), 0);
    cio_chan_free(p.to_thread);
    cio_chan_free(p.to_hub);
    cio_chan_free(p.bound);
    cio_chan_free(p.go);
    puts("ok");
    return 0;
}
