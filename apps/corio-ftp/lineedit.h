/* The shell's line input. On a terminal, when built with libedit: line
 * editing, a history kept between runs, and completion through a callback
 * the shell gives. Otherwise (a pipe, a script, or no libedit) plain lines
 * read on the offload pool, so the loop stays free. */
#ifndef CORIO_FTP_LINEEDIT_H
#define CORIO_FTP_LINEEDIT_H

#include <stdbool.h>
#include <stddef.h>

/* Candidates for completing word, the word of line that starts at offset
 * start: a malloc'd NULL-terminated array of malloc'd strings (each a whole
 * replacement for word), or NULL to complete local file names. */
typedef char **(*lineedit_complete_fn)(void *ctx, const char *line, int start,
                                       const char *word);

typedef struct lineedit lineedit_t;

/* A reader for stdin: editing when stdin and stdout are terminals and
 * libedit is built in. complete may be NULL. NULL when out of memory. */
lineedit_t *lineedit_new(lineedit_complete_fn complete, void *ctx);

/* True when lines are edited (libedit on a terminal). */
bool lineedit_editing(const lineedit_t *le);

/* Shows prompt (NULL: none) and reads a line into out (without its
 * newline). false at end of input. Runs in a task; completion runs in it
 * too, so the callback may do network IO. */
bool lineedit_read(lineedit_t *le, const char *prompt, char *out,
                   size_t outlen);

/* Adds line to the history and saves the file (a no-op without editing). */
void lineedit_remember(lineedit_t *le, const char *line);

/* Writes the history out and frees the reader. */
void lineedit_free(lineedit_t *le);

/* Where the history is kept: $XDG_STATE_HOME/corio-ftp/history, else
 * $HOME/.local/state/corio-ftp/history; "" when neither is set. */
void lineedit_history_path(char *out, size_t outlen);

/* "libedit" or "none": what --help reports. */
const char *lineedit_backend(void);

#endif
