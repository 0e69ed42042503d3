/* The seed's gevent demo: foo and bar sleep cooperatively, so the four
 * lines come out interleaved and the whole run takes about 2 s, not 3.
 *
 *   gevent.joinall([gevent.spawn(foo), gevent.spawn(bar)]) */
#include <stdio.h>
#include <string.h>

#include "common/cli.h"
#include "corio.h"

static void say(const char *line)
{
    puts(line);
    fflush(stdout);
}

static void *foo(void *arg)
{
    (void)arg;
    say("Running in foo");
    cio_task_sleep(2000);
    say("Explicit context switch to foo again");
    return NULL;
}

static void *bar(void *arg)
{
    (void)arg;
    say("Explicit context to bar");
    cio_task_sleep(1000);
    say("Implicit context switch to bar");
    return NULL;
}

static void *main_task(void *arg)
{
    (void)arg;
    cio_task_t *tasks[2];
    if (cio_task_spawn(&tasks[0], foo, NULL) < 0 ||
        cio_task_spawn(&tasks[1], bar, NULL) < 0)
        return (void *)1;
    cio_task_join_all(tasks, 2, -1);
    cio_task_free(tasks[0]);
    cio_task_free(tasks[1]);
    return NULL;
}

int main(int argc, char **argv)
{
    cli_begin(argc, argv, "sleep_demo", "",
              "Two tasks sleep cooperatively: four lines in about 2 s, not "
              "3.\n  --help, --version\n");
    if (argc > 1)
        cli_fail("sleep_demo", "");
    void *result = NULL;
    int rc = cio_hub_run(&result, main_task, NULL);
    if (rc < 0) {
        fprintf(stderr, "sleep_demo: %s\n", strerror(-rc));
        return 1;
    }
    return result ? 1 : 0;
}
