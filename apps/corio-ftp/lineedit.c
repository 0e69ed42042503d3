/* Line input for lineedit.h. libedit is driven through its readline
 * callback interface: the task waits until stdin is readable, then hands
 * libedit one keystroke, so the loop keeps running between keys and a
 * completion callback runs in the task (it may list a remote directory).
 * libedit's readline layer is one global editor: one shell per process. */
#include "lineedit.h"

#include <corio.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifdef FTP_HAVE_LIBEDIT
#include <editline/readline.h>
#endif

#define HISTORY_MAX 1000 /* lines kept in the history file */

struct lineedit {
    bool editing;                  /* libedit on a terminal */
    lineedit_complete_fn complete; /* the shell's completer, may be NULL */
    void *ctx;                     /* its argument */
    char history[4096];            /* history file, "" for none */
    char **cands;                  /* candidates of the completion running */
    size_t next_cand;              /* the generator's position in cands */
    char *line;                    /* the line libedit handed back */
    bool eof;                      /* libedit saw end of input */
};

void lineedit_history_path(char *out, size_t outlen)
{
    const char *state = getenv("XDG_STATE_HOME");
    const char *home = getenv("HOME");
    if (state && state[0] == '/')
        snprintf(out, outlen, "%s/corio-ftp/history", state);
    else if (home && home[0])
        snprintf(out, outlen, "%s/.local/state/corio-ftp/history", home);
    else if (outlen)
        out[0] = '\0';
}

/* ---- plain lines, on the offload pool ---- */

/* A line read on the offload pool. */
typedef struct line_read {
    char buf[4096]; /* the line */
    long len;       /* its length, -1 at end of input */
} line_read;

static long read_line_run(void *arg)
{
    line_read *lr = arg;
    if (!fgets(lr->buf, sizeof lr->buf, stdin))
        return -1;
    return (long)strlen(lr->buf);
}

static bool read_plain(const char *prompt, char *out, size_t outlen)
{
    if (prompt) {
        fputs(prompt, stdout);
        fflush(stdout);
    }
    line_read *lr = malloc(sizeof *lr);
    long len = -1;
    if (!lr ||
        cio_offload_run(&len, CIO_OFFLOAD_FILE, read_line_run, lr, -1) < 0)
        len = -1;
    if (len >= 0) {
        while (len > 0 &&
               (lr->buf[len - 1] == '\n' || lr->buf[len - 1] == '\r'))
            lr->buf[--len] = '\0';
        snprintf(out, outlen, "%s", lr->buf);
    }
    free(lr);
    return len >= 0;
}

#ifdef FTP_HAVE_LIBEDIT

/* libedit's callbacks carry no argument: the one reader of this process. */
static lineedit_t *active;

const char *lineedit_backend(void)
{
    return "libedit";
}

static void on_line(char *line)
{
    if (line)
        active->line = line;
    else
        active->eof = true;
}

static char *next_candidate(const char *text, int state)
{
    lineedit_t *le = active;
    if (!le->cands)
        return NULL;
    if (state == 0)
        le->next_cand = 0;
    while (le->cands[le->next_cand]) {
        const char *c = le->cands[le->next_cand++];
        if (!strncmp(c, text, strlen(text)))
            return strdup(c);
    }
    return NULL;
}

static void free_cands(lineedit_t *le)
{
    for (size_t i = 0; le->cands && le->cands[i]; i++)
        free(le->cands[i]);
    free(le->cands);
    le->cands = NULL;
}

static char **attempt(const char *text, int start, int end)
{
    lineedit_t *le = active;
    free_cands(le);
    if (!le->complete)
        return NULL;
    le->cands = le->complete(le->ctx, rl_line_buffer, start, text);
    if (!le->cands)
        return NULL; /* libedit completes local file names */
    rl_attempted_completion_over = 1;
    char **matches = rl_completion_matches(text, next_candidate);
    /* a directory completes to "dir/": no space, the user goes on (libedit
     * reads the append character, not rl_completion_suppress_append) */
    rl_completion_append_character = ' ';
    if (matches && matches[0] && (!matches[1] || !matches[2])) {
        size_t n = strlen(matches[0]);
        if (n > 0 && matches[0][n - 1] == '/')
            rl_completion_append_character = '\0';
    }
    return matches;
}

static void history_setup(lineedit_t *le)
{
    lineedit_history_path(le->history, sizeof le->history);
    if (!le->history[0])
        return;
    /* mkdir -p of the directory, private: commands name hosts and files */
    char dir[sizeof le->history];
    snprintf(dir, sizeof dir, "%s", le->history);
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = '\0';
    for (char *p = dir + 1; *p; p++)
        if (*p == '/') {
            *p = '\0';
            mkdir(dir, 0700);
            *p = '/';
        }
    mkdir(dir, 0700);
    stifle_history(HISTORY_MAX);
    read_history(le->history); /* none yet is fine */
}

lineedit_t *lineedit_new(lineedit_complete_fn complete, void *ctx)
{
    lineedit_t *le = calloc(1, sizeof *le);
    if (!le)
        return NULL;
    le->complete = complete;
    le->ctx = ctx;
    le->editing = !active && isatty(STDIN_FILENO) && isatty(STDOUT_FILENO);
    if (!le->editing)
        return le;
    active = le;
    rl_readline_name = "corio-ftp";
    rl_attempted_completion_function = attempt;
    rl_basic_word_break_characters = " \t\n\"'";
    rl_completer_word_break_characters = (char *)" \t\n\"'";
    history_setup(le);
    return le;
}

/* POLLHUP without data: the terminal is gone, which libedit would not
 * report to the callback. */
static bool terminal_gone(void)
{
    struct pollfd p = {.fd = STDIN_FILENO, .events = POLLIN};
    return poll(&p, 1, 0) == 1 && (p.revents & (POLLHUP | POLLERR)) &&
           !(p.revents & POLLIN);
}

static bool read_edited(lineedit_t *le, const char *prompt, char *out,
                        size_t outlen)
{
    le->line = NULL;
    le->eof = false;
    rl_callback_handler_install(prompt ? prompt : "", on_line);
    while (!le->line && !le->eof) {
        if (cio_fd_wait_readable(STDIN_FILENO, -1) < 0 || terminal_gone()) {
            le->eof = true;
            break;
        }
        rl_callback_read_char();
    }
    rl_callback_handler_remove();
    free_cands(le);
    if (!le->line) {
        fputs("\n", stdout);
        return false;
    }
    snprintf(out, outlen, "%s", le->line);
    free(le->line);
    le->line = NULL;
    return true;
}

bool lineedit_read(lineedit_t *le, const char *prompt, char *out, size_t outlen)
{
    fflush(stdout);
    if (le->editing)
        return read_edited(le, prompt, out, outlen);
    return read_plain(prompt, out, outlen);
}

void lineedit_remember(lineedit_t *le, const char *line)
{
    if (!le->editing || !line[0])
        return;
    HIST_ENTRY *last = history_length > 0
                           ? history_get(history_base + history_length - 1)
                           : NULL;
    if (!last || strcmp(last->line, line))
        add_history(line);
    /* saved at once: a second session, or a kill, loses nothing */
    if (le->history[0] && write_history(le->history) == 0)
        chmod(le->history, 0600);
}

void lineedit_free(lineedit_t *le)
{
    if (!le)
        return;
    if (le->editing) {
        free_cands(le);
        active = NULL;
    }
    free(le);
}

#else /* no libedit: plain lines everywhere */

const char *lineedit_backend(void)
{
    return "none";
}

lineedit_t *lineedit_new(lineedit_complete_fn complete, void *ctx)
{
    return calloc(1, sizeof(lineedit_t));
}

bool lineedit_read(lineedit_t *le, const char *prompt, char *out, size_t outlen)
{
    fflush(stdout);
    return read_plain(prompt, out, outlen);
}

void lineedit_remember(lineedit_t *le, const char *line)
{
}

void lineedit_free(lineedit_t *le)
{
    free(le);
}

#endif

bool lineedit_editing(const lineedit_t *le)
{
    return le->editing;
}
