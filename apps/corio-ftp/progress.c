/* The progress display of progress.h. */
#include "progress.h"

#include <corio.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#define REDRAW_MS 100   /* at most ten frames a second */
#define RATE_SAMPLES 30 /* rates are measured over the last ~3 s */

/* A rate over a sliding window of samples taken at each frame. Bars and
 * the total use the same kind, sampled at the same instants, so one
 * transfer shows the same rate and ETA on its bar and on the total. */
typedef struct rate_meter {
    int64_t t[RATE_SAMPLES]; /* ring of sample times (us) */
    int64_t b[RATE_SAMPLES]; /* and the bytes moved by then */
    unsigned n;              /* samples taken */
    int64_t start_us;        /* when counting began */
} rate_meter;

struct progress_item {
    char label[256];       /* what is shown for this transfer */
    int64_t size;          /* expected bytes, -1 unknown */
    int64_t done;          /* bytes present, resume offset included */
    int64_t moved;         /* bytes moved by this run */
    int64_t start_us;      /* when it began */
    rate_meter rate;       /* its rate, sampled at each frame */
    progress_item_t *prev; /* neighbours in the active list */
    progress_item_t *next;
};

struct progress {
    progress_mode mode;      /* how to show things */
    progress_item_t *head;   /* active transfers, oldest first */
    progress_item_t *tail;   /* newest */
    int64_t start_us;        /* when the first transfer began, 0 none */
    int64_t bytes_done;      /* bytes present in finished + active */
    int64_t bytes_moved;     /* bytes moved by this run */
    int64_t bytes_expected;  /* sum of the sizes announced */
    unsigned files_expected; /* files announced */
    unsigned files_done;     /* finished well (or up to date) */
    unsigned files_failed;   /* finished badly */
    unsigned files_skipped;  /* of files_done, already up to date */
    int64_t created_us;      /* when progress_start ran */
    char *pending;           /* lines to print above the bars */
    size_t pending_len;      /* bytes in pending */
    int drawn;               /* bar lines now on the screen */
    cio_task_t *task;        /* the redraw task, NULL when stopped */
    rate_meter rate;         /* of bytes_moved */
};

progress_mode progress_auto_mode(bool quiet)
{
    if (quiet)
        return PROGRESS_QUIET;
    const char *term = getenv("TERM");
    if (isatty(STDERR_FILENO) && !(term && !strcmp(term, "dumb")))
        return PROGRESS_TTY;
    return PROGRESS_PLAIN;
}

progress_t *progress_new(progress_mode mode)
{
    progress_t *p = calloc(1, sizeof *p);
    if (p)
        p->mode = mode;
    return p;
}

static void write_all(const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t w = write(STDERR_FILENO, buf, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return;
        buf += w;
        len -= (size_t)w;
    }
}

static void human(char *out, size_t outlen, double bytes)
{
    static const char *units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    int u = 0;
    while (bytes >= 1024 && u < 4) {
        bytes /= 1024;
        u++;
    }
    snprintf(out, outlen, u ? "%.1f %s" : "%.0f %s", bytes, units[u]);
}

static void clock_text(char *out, size_t outlen, double secs)
{
    if (secs < 0 || secs > 360000) {
        snprintf(out, outlen, "--:--");
        return;
    }
    long s = (long)(secs + 0.5);
    if (s >= 3600)
        snprintf(out, outlen, "%ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
    else
        snprintf(out, outlen, "%ld:%02ld", s / 60, s % 60);
}

/* Microseconds on the monotonic clock: fine enough that a fast small
 * transfer still has a duration, and a rate. */
static int64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Takes a sample (bytes moved by time t) and returns bytes per second
 * over the window, or since the start while the window is young. */
static double meter_rate(rate_meter *m, int64_t t, int64_t bytes)
{
    unsigned i = m->n % RATE_SAMPLES;
    m->t[i] = t;
    m->b[i] = bytes;
    m->n++;
    /* until the window is full, the average since the start: a burst into
     * the socket buffers before the first sample is not "0 B/s" */
    unsigned oldest = m->n % RATE_SAMPLES;
    int64_t dt = t - m->t[oldest], db = bytes - m->b[oldest];
    if (m->n <= RATE_SAMPLES)
        dt = t - m->start_us, db = bytes;
    return dt > 0 ? (double)db * 1e6 / (double)dt : 0;
}

/* A mean rate, never 0 for bytes that moved however fast. */
static double mean_rate(int64_t bytes, int64_t us)
{
    return (double)bytes * 1e6 / (double)(us > 0 ? us : 1);
}

static int term_columns(int *rows)
{
    struct winsize ws;
    if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 20) {
        *rows = ws.ws_row ? ws.ws_row : 24;
        return ws.ws_col;
    }
    *rows = 24;
    return 80;
}

/* "1.2 MiB / 3.0 MiB", or "1.2 MiB / ?" when the size is unknown. */
static void amount(char *out, size_t outlen, int64_t done, int64_t size)
{
    char d[32], all[32] = "?";
    human(d, sizeof d, (double)done);
    if (size >= 0)
        human(all, sizeof all, (double)size);
    snprintf(out, outlen, "%s / %s", d, all);
}

/* " 1.2 MiB / 3.0 MiB  3.4 MiB/s  ETA 0:03": bars and total alike. */
static void right_side(char *out, size_t outlen, int64_t done, int64_t size,
                       double bps)
{
    char amt[64], rate[32], eta[32];
    amount(amt, sizeof amt, done, size);
    human(rate, sizeof rate, bps);
    clock_text(eta, sizeof eta,
               size >= done && bps > 0 ? (double)(size - done) / bps : -1);
    snprintf(out, outlen, " %21s %10s/s  ETA %5s", amt, rate, eta);
}

/* One bar line, at most cols - 1 characters wide. */
static int bar_line(char *out, size_t outlen, progress_item_t *it, int cols,
                    int64_t t)
{
    char right[160];
    double bps = meter_rate(&it->rate, t, it->moved);
    right_side(right, sizeof right, it->done, it->size, bps);
    int pct = it->size > 0 ? (int)(it->done * 100 / it->size)
                           : (it->size == 0 ? 100 : 0);
    int avail = cols - 1 - (int)strlen(right) - 5;
    int name_w = avail * 2 / 5;
    if (name_w < 8)
        name_w = 8;
    int bar_w = avail - name_w - 3;
    const char *name = it->label;
    size_t nlen = strlen(name);
    if ((int)nlen > name_w)
        name += nlen - (size_t)name_w; /* keep the end: the file name */
    int n = snprintf(out, outlen, "%-*.*s [", name_w, name_w, name);
    if (bar_w > 0) {
        int fill =
            it->size > 0
                ? (int)((double)bar_w * (double)it->done / (double)it->size)
                : 0;
        for (int i = 0; i < bar_w && n + 4 < (int)outlen; i++)
            out[n++] = i < fill ? '=' : i == fill ? '>' : ' ';
    }
    n += snprintf(out + n, outlen - (size_t)n, "] %3d%%%s", pct, right);
    return n;
}

static int total_line(char *out, size_t outlen, progress_t *p, double bps)
{
    char right[160];
    right_side(right, sizeof right, p->bytes_done, p->bytes_expected, bps);
    unsigned files = p->files_expected > p->files_done + p->files_failed
                         ? p->files_expected
                         : p->files_done + p->files_failed;
    char failed[32] = "";
    if (p->files_failed)
        snprintf(failed, sizeof failed, ", %u failed", p->files_failed);
    return snprintf(out, outlen, "total: %u/%u files%s %s", p->files_done,
                    files, failed, right);
}

/* The last line: files, bytes, elapsed time and mean rate. */
static void summary_line(char *out, size_t outlen, const progress_t *p)
{
    char done[32], rate[32], skipped[48] = "", failed[32] = "";
    int64_t t0 = p->start_us ? p->start_us : p->created_us;
    int64_t us = now_us() - t0;
    human(done, sizeof done, (double)p->bytes_moved);
    human(rate, sizeof rate, mean_rate(p->bytes_moved, us));
    if (p->files_skipped)
        snprintf(skipped, sizeof skipped, " (%u up to date)", p->files_skipped);
    if (p->files_failed)
        snprintf(failed, sizeof failed, ", %u failed", p->files_failed);
    snprintf(out, outlen, "total: %u files%s%s, %s in %.2f s (%s/s)",
             p->files_done, skipped, failed, done, (double)us / 1e6, rate);
}

/* Redraws the terminal: pending lines first, then the bars and total. */
static void draw(progress_t *p, bool final)
{
    int rows, cols = term_columns(&rows);
    size_t cap = p->pending_len + (size_t)(rows + 2) * (size_t)(cols + 16) + 64;
    char *buf = malloc(cap);
    if (!buf)
        return;
    size_t n = 0;
    if (p->drawn > 0)
        n += (size_t)snprintf(buf + n, cap - n, "\033[%dA", p->drawn);
    n += (size_t)snprintf(buf + n, cap - n, "\r\033[J");
    if (p->pending_len) {
        memcpy(buf + n, p->pending, p->pending_len);
        n += p->pending_len;
        p->pending_len = 0;
    }
    int64_t t = now_us();
    double bps = meter_rate(&p->rate, t, p->bytes_moved);
    int lines = 0, max_bars = rows > 4 ? rows - 3 : 1;
    char line[1024];
    for (progress_item_t *it = p->head; it; it = it->next) {
        if (lines == max_bars) {
            n += (size_t)snprintf(buf + n, cap - n, "... and more\n");
            lines++;
            break;
        }
        bar_line(line, sizeof line, it, cols < 1000 ? cols : 1000, t);
        n += (size_t)snprintf(buf + n, cap - n, "%s\n", line);
        lines++;
    }
    if (final)
        summary_line(line, sizeof line, p);
    else
        total_line(line, sizeof line, p, bps);
    line[cols - 1 < (int)sizeof line ? cols - 1 : (int)sizeof line - 1] = 0;
    n += (size_t)snprintf(buf + n, cap - n, "%s\n", line);
    lines++;
    p->drawn = final ? 0 : lines;
    write_all(buf, n < cap ? n : cap - 1);
    free(buf);
}

static void *redraw_task(void *arg)
{
    progress_t *p = arg;
    while (cio_task_sleep(REDRAW_MS) == 0)
        if (p->start_us)
            draw(p, false);
    return NULL;
}

int progress_start(progress_t *p)
{
    p->created_us = now_us();
    if (p->mode != PROGRESS_TTY || p->task)
        return 0;
    int rc = cio_task_spawn(&p->task, redraw_task, p);
    if (rc == 0)
        cio_task_set_name(p->task, "progress");
    return rc;
}

static void flush_pending(progress_t *p)
{
    write_all(p->pending, p->pending_len);
    p->pending_len = 0;
}

void progress_finish(progress_t *p)
{
    if (p->task) {
        cio_task_kill(p->task);
        cio_task_join(p->task, -1);
        cio_task_free(p->task);
        p->task = NULL;
    }
    if (p->mode == PROGRESS_TTY && p->files_done + p->files_failed > 0)
        draw(p, true); /* the files' lines, then the summary */
    flush_pending(p);
    if (p->mode == PROGRESS_PLAIN && p->files_done + p->files_failed > 1) {
        char line[256];
        summary_line(line, sizeof line, p);
        progress_error(p, "%s", line);
    }
}

void progress_free(progress_t *p)
{
    if (!p)
        return;
    while (p->head) {
        progress_item_t *next = p->head->next;
        free(p->head);
        p->head = next;
    }
    free(p->pending);
    free(p);
}

void progress_expect(progress_t *p, int files, int64_t bytes)
{
    p->files_expected += (unsigned)files;
    if (bytes > 0)
        p->bytes_expected += bytes;
}

progress_item_t *progress_begin(progress_t *p, const char *label, int64_t size,
                                int64_t offset)
{
    progress_item_t *it = calloc(1, sizeof *it);
    if (!it)
        return NULL;
    snprintf(it->label, sizeof it->label, "%s", label);
    it->size = size;
    it->done = offset;
    it->start_us = it->rate.start_us = now_us();
    if (!p->start_us)
        p->start_us = p->rate.start_us = it->start_us;
    p->bytes_done += offset;
    it->prev = p->tail;
    if (p->tail)
        p->tail->next = it;
    else
        p->head = it;
    p->tail = it;
    return it;
}

void progress_advance(progress_t *p, progress_item_t *it, int64_t n)
{
    p->bytes_done += n;
    p->bytes_moved += n;
    if (it) {
        it->done += n;
        it->moved += n;
    }
}

/* The line a finished file leaves: plain "name: N bytes in S s (R/s)";
 * on a terminal "name  size  time  rate", above the bars. An empty file
 * has no rate to show. */
static void done_line(progress_t *p, const progress_item_t *it,
                      const char *note)
{
    int64_t us = now_us() - it->start_us;
    char rate[48] = "", size[32];
    if (it->moved > 0) {
        human(size, sizeof size, mean_rate(it->moved, us));
        snprintf(rate, sizeof rate,
                 p->mode == PROGRESS_TTY ? "  %s/s" : " (%s/s)", size);
    }
    const char *sep = note ? ", " : "";
    if (p->mode == PROGRESS_PLAIN) {
        progress_error(p, "%s: %lld bytes in %.2f s%s%s%s", it->label,
                       (long long)it->done, (double)us / 1e6, rate, sep,
                       note ? note : "");
        return;
    }
    human(size, sizeof size, (double)it->done);
    progress_error(p, "%s  %s  %.2f s%s%s%s", it->label, size, (double)us / 1e6,
                   rate, sep, note ? note : "");
}

void progress_end(progress_t *p, progress_item_t *it, bool ok, const char *note)
{
    if (ok)
        p->files_done++;
    else
        p->files_failed++;
    if (!it)
        return;
    if (ok && p->mode != PROGRESS_QUIET)
        done_line(p, it, note);
    if (!ok) /* what failed is not there any more */
        p->bytes_done -= it->done;
    if (it->prev)
        it->prev->next = it->next;
    else
        p->head = it->next;
    if (it->next)
        it->next->prev = it->prev;
    else
        p->tail = it->prev;
    free(it);
}

void progress_skip(progress_t *p, int64_t bytes)
{
    p->files_done++;
    p->files_skipped++;
    if (bytes > 0)
        p->bytes_done += bytes;
}

void progress_error(progress_t *p, const char *fmt, ...)
{
    char line[2048];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line - 1, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if (n > (int)sizeof line - 2)
        n = (int)sizeof line - 2;
    line[n++] = '\n';
    if (!p || !p->task) {
        write_all(line, (size_t)n);
        return;
    }
    /* shown above the bars by the next frame */
    char *grown = realloc(p->pending, p->pending_len + (size_t)n);
    if (!grown) {
        write_all(line, (size_t)n);
        return;
    }
    p->pending = grown;
    memcpy(p->pending + p->pending_len, line, (size_t)n);
    p->pending_len += (size_t)n;
}

unsigned progress_failed(const progress_t *p)
{
    return p->files_failed;
}
