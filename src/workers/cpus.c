/* How many CPUs the process really gets: the CPUs of its affinity mask,
 * fewer when its cgroup's CPU quota allows less (a container's cpu.max:
 * 150000 100000 is one and a half CPUs, counted as 2, as Go 1.25 counts
 * GOMAXPROCS). cgroup v2 (cpu.max) and v1 (cpu.cfs_quota_us and
 * cpu.cfs_period_us); the smallest quota on the path from the process's
 * cgroup to the root counts, as the kernel enforces every level. */
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "corio/workers.h"
#include "workers-int.h"

/* CPUs allowed by quota/period, rounded up; 0 for no limit. */
static unsigned quota_cpus(long long quota, long long period)
{
    if (quota <= 0 || period <= 0)
        return 0;
    long long n = (quota + period - 1) / period;
    return n > 4096 ? 4096 : (unsigned)n;
}

static unsigned min_limit(unsigned a, unsigned b)
{
    return !a ? b : !b ? a : a < b ? a : b;
}

/* The quota in dir (v2: cpu.max; v1: cpu.cfs_quota_us and
 * cpu.cfs_period_us), 0 for none or unreadable. */
static unsigned dir_limit(const char *dir, bool v2)
{
    char path[PATH_MAX + 32];
    long long quota = 0, period = 0;
    if (v2) {
        char q[32] = "";
        snprintf(path, sizeof path, "%s/cpu.max", dir);
        FILE *f = fopen(path, "r");
        if (!f)
            return 0;
        int n = fscanf(f, "%31s %lld", q, &period);
        fclose(f);
        if (n != 2 || strcmp(q, "max") == 0 || sscanf(q, "%lld", &quota) != 1)
            return 0;
        return quota_cpus(quota, period);
    }
    snprintf(path, sizeof path, "%s/cpu.cfs_quota_us", dir);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    int n = fscanf(f, "%lld", &quota);
    fclose(f);
    snprintf(path, sizeof path, "%s/cpu.cfs_period_us", dir);
    if (n != 1 || !(f = fopen(path, "r")))
        return 0;
    n = fscanf(f, "%lld", &period);
    fclose(f);
    return n == 1 ? quota_cpus(quota, period) : 0;
}

/* The smallest limit from base + rel up to base. */
static unsigned path_limit(const char *base, const char *rel, bool v2)
{
    char dir[PATH_MAX];
    unsigned limit = 0;
    int n = snprintf(dir, sizeof dir, "%s%s", base, rel);
    if (n <= 0 || (size_t)n >= sizeof dir)
        return 0;
    size_t keep = strlen(base);
    for (;;) {
        limit = min_limit(limit, dir_limit(dir, v2));
        char *slash = strrchr(dir, '/');
        if (!slash || (size_t)(slash - dir) < keep)
            break;
        *slash = '\0';
    }
    return limit;
}

unsigned cio__cgroup_cpu_limit(const char *proc_cgroup, const char *root)
{
    FILE *f = fopen(proc_cgroup, "r");
    if (!f)
        return 0;
    char line[PATH_MAX + 64], base[PATH_MAX];
    unsigned limit = 0;
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = '\0';
        /* id:controllers:path */
        char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
        if (!c2)
            continue;
        *c2 = '\0';
        const char *ctl = c1 + 1, *rel = c2 + 1;
        if (strcmp(rel, "/") == 0)
            rel = "";
        if (!*ctl) { /* v2: the unified hierarchy */
            snprintf(base, sizeof base, "%s", root);
            limit = min_limit(limit, path_limit(base, rel, true));
            snprintf(base, sizeof base, "%s/unified", root);
            limit = min_limit(limit, path_limit(base, rel, true));
            continue;
        }
        char list[256];
        snprintf(list, sizeof list, ",%s,", ctl);
        if (!strstr(list, ",cpu,"))
            continue;
        snprintf(base, sizeof base, "%s/%s", root, ctl); /* cpu,cpuacct */
        limit = min_limit(limit, path_limit(base, rel, false));
        snprintf(base, sizeof base, "%s/cpu", root);
        limit = min_limit(limit, path_limit(base, rel, false));
    }
    fclose(f);
    return limit;
}

/* The CPUs of tid's affinity mask (0: this thread), capped by the quota. */
static unsigned cpus_of(pid_t tid)
{
    unsigned n = 0;
    cpu_set_t allowed;
    if (sched_getaffinity(tid, sizeof(allowed), &allowed) == 0 &&
        CPU_COUNT(&allowed) > 0)
        n = (unsigned)CPU_COUNT(&allowed);
    if (!n) {
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        n = cpus > 0 ? (unsigned)cpus : 1;
    }
    unsigned quota =
        cio__cgroup_cpu_limit("/proc/self/cgroup", "/sys/fs/cgroup");
    return quota && quota < n ? quota : n;
}

unsigned cio_workers_cpus(void)
{
    return cpus_of(0);
}

unsigned cio__process_cpus(void)
{
    return cpus_of(getpid()); /* the main thread's mask */
}
