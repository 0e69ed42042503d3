/* What the shell's files share: its state, the shape of a command, and
 * the commands defined outside shell.c (the table lives there). */
#ifndef CORIO_FTP_SHELL_CMD_H
#define CORIO_FTP_SHELL_CMD_H

#include "complete.h"
#include "lineedit.h"
#include "xfer.h"

/* The shell's state between commands. */
typedef struct shell {
    ftp_opts opts;        /* transfer options; passive/verbose toggle them */
    ftp_conn *c;          /* the shell's own connection */
    ftp_site site;        /* server and login of c */
    bool connected;       /* c is open */
    bool logged_in;       /* USER/PASS accepted */
    bool interactive;     /* stdin is a terminal: prompt */
    bool quit;            /* bye was given */
    int failures;         /* commands that failed */
    lineedit_t *le;       /* where lines come from */
    complete_cache cache; /* the listing completion last used */
} shell;

typedef int (*shell_fn)(shell *sh, int argc, char **argv);

/* One command of the table. */
typedef struct shell_cmd {
    const char *name; /* what the user types (prefixes work) */
    shell_fn fn;      /* what it does */
    bool needs_login; /* refused with "Not connected." before open/user */
    char args;        /* completed as 'r' remote paths, 'l' local, 'c'
                         command names, 0 nothing */
    const char *help; /* one line for help */
} shell_cmd;

/* Prints why a command failed (the server's reply, or the error) and
 * notices a lost connection; returns -1. */
int shell_fail_reply(shell *sh, int rc);

/* shell_xfer.c: get (recv), put (send), mget, mput; each takes -c to
 * continue partial files. */
int shell_get(shell *sh, int argc, char **argv);
int shell_put(shell *sh, int argc, char **argv);
int shell_mget(shell *sh, int argc, char **argv);
int shell_mput(shell *sh, int argc, char **argv);

#endif
