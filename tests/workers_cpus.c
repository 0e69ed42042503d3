/* The CPUs a worker group fits: the cgroup CPU quota is read (v2 cpu.max
 * and v1 cpu.cfs_quota_us, in made-up cgroup trees: the smallest quota on
 * the path counts, rounded up), the default worker count is never above
 * the affinity mask, and a group squeezed onto one CPU after it started
 * (every thread's mask changed, as `taskset -a -p` does) sends its new
 * connections to one worker only. */
#include <dirent.h>
#include <errno.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "corio.h"
#include "workers/workers-int.h"
#include "workers_net.h"

static char root[] = "/tmp/corio-cgroup-XXXXXX";

static void put(const char *rel, const char *text)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", root, rel);
    for (char *p = path + strlen(root) + 1; *p; p++) {
        if (*p == '/') {
            *p = '\0';
            mkdir(path, 0700);
            *p = '/';
        }
    }
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    fputs(text, f);
    fclose(f);
}

static unsigned limit_for(const char *proc_cgroup_text)
{
    put("self-cgroup", proc_cgroup_text);
    char path[512];
    snprintf(path, sizeof path, "%s/self-cgroup", root);
    char fs[512];
    snprintf(fs, sizeof fs, "%s/fs", root);
    return cio__cgroup_cpu_limit(path, fs);
}

static void test_quota(void)
{
    CHECK(mkdtemp(root) != NULL);
    /* v2: 1.5 CPUs on the parent, none on the leaf: 2 */
    put("fs/a/cpu.max", "150000 100000\n");
    put("fs/a/b/cpu.max", "max 100000\n");
    CHECK_EQ(limit_for("0::/a/b\n"), 2);
    /* a smaller quota below wins */
    put("fs/a/b/cpu.max", "50000 100000\n");
    CHECK_EQ(limit_for("0::/a/b\n"), 1);
    /* no quota anywhere, or no such cgroup */
    CHECK_EQ(limit_for("0::/\n"), 0);
    CHECK_EQ(limit_for("0::/nowhere\n"), 0);
    /* v1, cpu and cpuacct mounted together; quota -1 is none */
    put("fs/cpu,cpuacct/x/cpu.cfs_quota_us", "300000\n");
    put("fs/cpu,cpuacct/x/cpu.cfs_period_us", "100000\n");
    CHECK_EQ(limit_for("5:memory:/m\n4:cpu,cpuacct:/x\n"), 3);
    put("fs/cpu,cpuacct/x/cpu.cfs_quota_us", "-1\n");
    CHECK_EQ(limit_for("4:cpu,cpuacct:/x\n"), 0);
    /* garbage is no quota */
    put("fs/a/b/cpu.max", "lots\n");
    put("fs/a/cpu.max", "\n");
    CHECK_EQ(limit_for("0::/a/b\n"), 0);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    CHECK_EQ(system(cmd), 0);

    cpu_set_t mask;
    CHECK_EQ(sched_getaffinity(0, sizeof mask, &mask), 0);
    unsigned n = cio_workers_cpus();
    CHECK(n >= 1 && n <= (unsigned)CPU_COUNT(&mask));
}

static atomic_int served[2];

static void one_byte(int fd, const struct sockaddr *peer, socklen_t peer_len,
                     void *data)
{
    (void)data;
    atomic_fetch_add(&served[cio_workers_index()], 1);
    char c;
    if (cio_fd_read(fd, &c, 1, cio_deadline_in(5000)) == 1)
        cio_fd_write_all(fd, &c, 1, cio_deadline_in(5000));
    cio_fd_close(fd);
}

static void *serve(void *arg)
{
    (void)arg;
    CHECK_EQ(cio_workers_serve(one_byte, NULL, 0), 0);
    return NULL;
}

/* Gives every thread of the process the mask (taskset -a -p). */
static void squeeze(const cpu_set_t *mask)
{
    DIR *d = opendir("/proc/self/task");
    CHECK(d != NULL);
    struct dirent *e;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.')
            sched_setaffinity(atoi(e->d_name), sizeof *mask, mask);
    closedir(d);
}

/* Which worker served one connection. */
static int serve_one(int port)
{
    int before0 = atomic_load(&served[0]), before1 = atomic_load(&served[1]);
    int fd = wn_connect(port, 5);
    CHECK(fd >= 0);
    char c = 'x';
    CHECK_EQ(wn_write_all(fd, &c, 1), 0);
    CHECK_EQ(wn_read_full(fd, &c, 1), 1);
    close(fd);
    return atomic_load(&served[0]) > before0   ? 0
           : atomic_load(&served[1]) > before1 ? 1
                                               : -1;
}

static int test_steer(void)
{
    cpu_set_t all, one;
    CHECK_EQ(sched_getaffinity(0, sizeof all, &all), 0);
    if (CPU_COUNT(&all) < 2) {
        printf("SKIP: steering needs 2 CPUs\n");
        return 77;
    }
    cio_workers_t *g;
    cio_workers_opts_t o = {.threads = 2, .stop_grace_ms = 1000};
    CHECK_EQ(cio_workers_new(&g, &o), 0);
    int port = cio_workers_listen(g, "127.0.0.1", 0, 0);
    CHECK(port > 0);
    if (!cio_workers_reuseport(g)) {
        printf("SKIP: no SO_REUSEPORT\n");
        cio_workers_free(g);
        return 77;
    }
    CHECK_EQ(cio_workers_start(g, serve, NULL), 0);
    CPU_ZERO(&one);
    for (int cpu = 0; cpu < CPU_SETSIZE; cpu++)
        if (CPU_ISSET(cpu, &all)) {
            CPU_SET(cpu, &one);
            break;
        }
    squeeze(&one);
    /* Within a few of the watch's periods, 20 connections in a row go to
     * the first worker (by chance: one in a million). */
    int64_t until = wn_now_ms() + 5000;
    int row = 0;
    while (row < 20 && wn_now_ms() < until) {
        row = serve_one(port) == 0 ? row + 1 : 0;
        if (row == 0)
            wn_sleep_ms(50);
    }
    CHECK_EQ(row, 20);
    /* CPUs back: both workers get connections again. */
    squeeze(&all);
    until = wn_now_ms() + 5000;
    bool second = false;
    while (!second && wn_now_ms() < until)
        if (serve_one(port) == 1)
            second = true;
        else
            wn_sleep_ms(20);
    CHECK(second);
    cio_workers_stop(g);
    CHECK_EQ(cio_workers_wait(g), 0);
    cio_workers_free(g);
    return 0;
}

int main(void)
{
    test_quota();
    int rc = test_steer();
    if (rc == 0)
        puts("workers_cpus: ok");
    return rc;
}
