/* A coroutine's room (the hub keeps its tasks there): aligned, writable to
 * its end while the coroutine runs and switches, counted in the footprint,
 * and still there when a pooled coroutine made without room is reused. */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "coro/room.h"
#include "corio.h"

#define ROOM 200

static void *fill(void *arg)
{
    unsigned char *room = arg;
    for (int round = 0; round < 3; round++) {
        for (size_t i = 0; i < ROOM; i++)
            CHECK(room[i] == (unsigned char)(i + round));
        for (size_t i = 0; i < ROOM; i++)
            room[i] = (unsigned char)(i + round + 1);
        cio_coro_yield(NULL);
    }
    return room;
}

static void run_in_room(size_t stack_size)
{
    cio_coro_t *co;
    CHECK_EQ(cio__coro_create_room(&co, fill, NULL, stack_size, ROOM), 0);
    unsigned char *room = cio__coro_room(co);
    CHECK_EQ((uintptr_t)room % 64, 0);
    CHECK(room > (unsigned char *)co);
    for (size_t i = 0; i < ROOM; i++)
        room[i] = (unsigned char)i;
    /* The entry gets the first switch's value: the room itself. */
    void *got = NULL;
    CHECK_EQ(cio_coro_switch(co, room, &got), 0);
    CHECK(cio_coro_footprint(co) >= ROOM);
    while (!cio_coro_done(co))
        CHECK_EQ(cio_coro_switch(co, NULL, &got), 0);
    CHECK(got == room);
    for (size_t i = 0; i < ROOM; i++)
        CHECK(room[i] == (unsigned char)(i + 3));
    cio_coro_free(co);
}

static void *nothing(void *arg)
{
    return arg;
}

int main(void)
{
    /* Fill the pool of default stacks with coroutines without room, then
     * ask for room: the pooled stack moves to a struct that has it. */
    cio_coro_t *plain[4];
    for (int i = 0; i < 4; i++) {
        CHECK_EQ(cio_coro_create(&plain[i], nothing, NULL, 0), 0);
        CHECK_EQ(cio_coro_switch(plain[i], NULL, NULL), 0);
    }
    for (int i = 0; i < 4; i++)
        cio_coro_free(plain[i]);
    for (int i = 0; i < 6; i++)
        run_in_room(0);
    /* Other sizes, and a plain coroutine reusing a roomy one. */
    run_in_room(32 * 1024);
    cio_coro_t *co;
    CHECK_EQ(cio_coro_create(&co, nothing, (void *)1, 0), 0);
    void *got = NULL;
    CHECK_EQ(cio_coro_switch(co, NULL, &got), 0);
    CHECK(got == (void *)1);
    cio_coro_free(co);
    CHECK_EQ(cio__coro_create_room(&co, nothing, NULL, 0, (size_t)1 << 33),
             -EINVAL);
    printf("coro_room: ok\n");
    return 0;
}
