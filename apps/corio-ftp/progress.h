/* The progress display. On a terminal: one bar per active transfer and a
 * total line (bytes, rate, ETA), redrawn in place by a timer task at most
 * ten times a second. Elsewhere: one plain line per completed file. Errors
 * always go out, above the bars, on stderr. */
#ifndef CORIO_FTP_PROGRESS_H
#define CORIO_FTP_PROGRESS_H

#include <stdbool.h>
#include <stdint.h>

typedef enum {
    PROGRESS_QUIET, /* errors only */
    PROGRESS_PLAIN, /* a line per completed file */
    PROGRESS_TTY    /* bars redrawn in place */
} progress_mode;

typedef struct progress progress_t;
typedef struct progress_item progress_item_t;

/* The mode for stderr: QUIET when quiet, TTY on a terminal, else PLAIN. */
progress_mode progress_auto_mode(bool quiet);

/* A display writing to stderr. NULL when out of memory. */
progress_t *progress_new(progress_mode mode);

/* Starts the redraw task (terminal mode; a no-op otherwise). In a task. */
int progress_start(progress_t *p);

/* Stops redrawing and leaves the total line (terminal) or a summary. */
void progress_finish(progress_t *p);

/* Frees a finished display. */
void progress_free(progress_t *p);

/* Announces files to come and their bytes (-1 when unknown), for the total
 * line and its ETA. */
void progress_expect(progress_t *p, int files, int64_t bytes);

/* A transfer starts: label is shown, size may be -1, offset bytes are
 * already there (resume). */
progress_item_t *progress_begin(progress_t *p, const char *label, int64_t size,
                                int64_t offset);

/* n more bytes moved. */
void progress_advance(progress_t *p, progress_item_t *it, int64_t n);

/* The transfer ended; on success a plain line is printed (plain mode).
 * note (may be NULL) is added to that line, e.g. "resumed". */
void progress_end(progress_t *p, progress_item_t *it, bool ok,
                  const char *note);

/* A file counted as done without a transfer (already up to date). */
void progress_skip(progress_t *p, int64_t bytes);

/* Prints a line on stderr without breaking the bars, in every mode. */
void progress_error(progress_t *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Files that completed / failed so far. */
unsigned progress_failed(const progress_t *p);

#endif
