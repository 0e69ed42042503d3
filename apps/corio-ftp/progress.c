/* The progress display of progress.h. */
#include "progress.h"

#include <corio.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define REDRAW_MS 100   /* at most ten frames a second */
#define RATE_SAMPLES 30 /* the total rate is measured over ~3 s */

struct progress_item {
    char label[256];       /* what is shown for this transfer */
    int64_t size;          /* expected bytes, -1 unknown */
    int64_t done;          /* bytes present, resume offset included */
    int64_t moved;         /* bytes moved by this run */
    int64_t start_ms;      /* when it began */
    progress_item_t *prev; /* neighbours in the active list */
    progress_item_t *next;
};

struct progress {
    progress_mode mode;             /* how to show things */
    progress_item_t *head;          /* active transfers, oldest first */
    progress_item_t *tail;          /* newest */
    int64_t start_ms;               /* when the first transfer began, 0 none */
    int64_t bytes_done;             /* bytes present in finished + active */
    int64_t bytes_moved;            /* bytes moved by this run */
    int64_t bytes_expected;         /* sum of the sizes announced */
    unsigned files_expected;        /* files announced */
    unsigned files_done;            /* finished well (or up to date) */
    unsigned files_failed;          /* finished badly */
    unsigned files_skipped;         /* of files_done, already up to date */
    int64_t created_ms;             /* when progress_start ran */
    char *pending;                  /* lines to print above the bars */
    size_t pending_len;             /* bytes in pending */
    int drawn;                      /* bar lines now on the screen */
    cio_task_t *task;               /* the redraw task, NULL when stopped */
    int64_t sample_t[RATE_SAMPLES]; /* ring of (time, bytes_moved) */
    int64_t sample_b[RATE_SAMPLES];
    unsigned samples; /* samples taken so far */
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

static int64_t now_ms(void)
{
    return cio_task_self() ? cio_hub_now() : 0;
}

/* Bytes per second over the last few seconds of samples. */
static double total_rate(progress_t *p)
{
    int64_t t = now_ms();
    unsigned i = p->samples % RATE_SAMPLES;
    p->sample_t[i] = t;
    p->sample_b[i] = p->bytes_moved;
    p->samples++;
    unsigned oldest = p->samples > RATE_SAMPLES ? p->samples % RATE_SAMPLES : 0;
    int64_t dt = t - p->sample_t[oldest];
    if (dt < 200) /* too early to tell: average since the start */
        dt = t - p->start_ms, oldest = RATE_SAMPLES;
    int64_t db = oldest == RATE_SAMPLES ? p->bytes_moved
                                        : p->bytes_moved - p->sample_b[oldest];
    return dt > 0 ? (double)db * 1000.0 / (double)dt : 0;
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

/* One bar line, at most cols - 1 characters wide. */
static int bar_line(char *out, size_t outlen, const progress_item_t *it,
                    int cols, int64_t t)
{
    char got[32], rate[32], eta[32], right[128];
    double secs = (double)(t - it->start_ms) / 1000.0;
    double bps = secs > 0.05 ? (double)it->moved / secs : 0;
    human(got, sizeof got, (double)it->done);
    human(rate, sizeof rate, bps);
    clock_text(eta, sizeof eta,
               it->size >= 0 && bps > 0 ? (double)(it->size - it->done) / bps
                                        : -1);
    int pct = it->size > 0 ? (int)(it->done * 100 / it->size)
                           : (it->size == 0 ? 100 : 0);
    snprintf(right, sizeof right, " %3d%% %10s %10s/s %7s", pct, got, rate,
             eta);
    int avail = cols - 1 - (int)strlen(right);
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
    n += snprintf(out + n, outlen - (size_t)n, "]%s", right);
    return n;
}

static int total_line(char *out, size_t outlen, progress_t *p, double bps)
{
    char done[32], all[32], rate[32], eta[32];
    human(done, sizeof done, (double)p->bytes_done);
    human(all, sizeof all, (double)p->bytes_expected);
    human(rate, sizeof rate, bps);
    int64_t left = p->bytes_expected - p->bytes_done;
    clock_text(eta, sizeof eta, bps > 0 && left >= 0 ? (double)left / bps : -1);
    unsigned files = p->files_expected > p->files_done + p->files_failed
                         ? p->files_expected
                         : p->files_done + p->files_failed;
    char failed[32] = "";
    if (p->files_failed)
        snprintf(failed, sizeof failed, ", %u failed", p->files_failed);
    return snprintf(out, outlen, "total: %u/%u files%s  %s of %s  %s/s  ETA %s",
                    p->files_done, files, failed, done, all, rate, eta);
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
    int64_t t = now_ms();
    double bps = total_rate(p);
    int lines = 0, max_bars = rows > 4 ? rows - 3 : 1;
    char line[1024];
    for (progress_item_t *it = p->head; it && !final; it = it->next) {
        if (lines == max_bars) {
            n += (size_t)snprintf(buf + n, cap - n, "... and more\n");
            lines++;
            break;
        }
        bar_line(line, sizeof line, it, cols < 1000 ? cols : 1000, t);
        n += (size_t)snprintf(buf + n, cap - n, "%s\n", line);
        lines++;
    }
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
        if (p->start_ms)
            draw(p, false);
    return NULL;
}

int progress_start(progress_t *p)
{
    p->created_ms = now_ms();
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
    if (p->mode == PROGRESS_TTY && p->start_ms)
        draw(p, true);
    flush_pending(p);
    if (p->mode == PROGRESS_PLAIN && p->files_done + p->files_failed > 1) {
        char done[32], rate[32];
        int64_t t0 = p->start_ms ? p->start_ms : p->created_ms;
        double secs = (double)(now_ms() - t0) / 1000.0;
        human(done, sizeof done, (double)p->bytes_moved);
        human(rate, sizeof rate, secs > 0 ? (double)p->bytes_moved / secs : 0);
        progress_error(p,
                       "total: %u files (%u up to date), %u failed, %s in "
                       "%.2f s (%s/s)",
                       p->files_done, p->files_skipped, p->files_failed, done,
                       secs, rate);
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
    it->start_ms = now_ms();
    if (!p->start_ms)
        p->start_ms = it->start_ms ? it->start_ms : 1;
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

void progress_end(progress_t *p, progress_item_t *it, bool ok, const char *note)
{
    if (ok)
        p->files_done++;
    else
        p->files_failed++;
    if (!it)
        return;
    if (ok && p->mode == PROGRESS_PLAIN) {
        double secs = (double)(now_ms() - it->start_ms) / 1000.0;
        char rate[32];
        human(rate, sizeof rate, secs > 0 ? (double)it->moved / secs : 0);
        progress_error(p, "%s: %lld bytes in %.2f s (%s/s)%s%s", it->label,
                       (long long)it->done, secs, rate, note ? ", " : "",
                       note ? note : "");
    }
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
