/* What the transfer files share: the transfer itself. transfer_task.c
 * runs it in a task of its own, transfer_open.c opens the file or directory
 * it moves, transfer.c moves the bytes. */
#ifndef FTPD_TRANSFER_H
#define FTPD_TRANSFER_H

#include <dirent.h>

#include "ftpd.h"

enum phase {
    PH_CONNECT, /* establishing the data connection */
    PH_MOVE,    /* moving bytes: ABOR may stop it */
    PH_FINISH   /* committing and replying: ABOR waits */
};

struct transfer {
    struct ftp_session *s;  /* its session (a reference) */
    enum xfer_kind kind;    /* the verb */
    enum phase phase;       /* what the task is doing */
    bool ascii;             /* TYPE A conversion */
    bool in_place;          /* APPE / REST+STOR / STOU write the file itself */
    bool created;           /* STOU made this file: remove it on failure */
    bool local_error;       /* the error came from the disk, not the network */
    bool orphan;            /* the session is gone: free yourself at the end */
    bool no_replace;        /* anonymous: the commit never replaces a file */
    bool keep;              /* tmp_vpath is kept data: keep it when cut */
    int file_fd;            /* the file, -1 for listings */
    int data_fd;            /* the data connection, -1 until open */
    DIR *dir;               /* directory being listed */
    char *vpath;            /* the file or directory, virtual */
    char *tmp_vpath;        /* STOR's temporary file */
    char *opts;             /* LIST options ("-la") */
    char *pattern;          /* LIST/NLST glob on the names in vpath */
    char *prefix;           /* NLST glob: put before each name ("dir/") */
    bool more;              /* the glob matched more than it listed */
    off_t offset;           /* file position the transfer starts at */
    off_t orig_size;        /* in place: the size before, for rollback */
    off_t size;             /* downloads: the file's size when opened */
    off_t fpos;             /* uploads: file position reached */
    off_t bytes;            /* bytes on the data connection so far */
    int64_t data_ms;        /* data connection stall limit */
    int64_t start_ms;       /* when it started (xferlog) */
    struct ftpd_root *root; /* a reference to the session's root */
    struct vfs *vfs;        /* &root->vfs */
    unsigned may;           /* the user's rights, for the MLSD perm fact */
    unsigned hide;          /* MLSD facts left out (OPTS MLST) */

    /* Uploads into kept data (partial.c). */
    struct partial_limits keep_lim; /* what a cut does */
    off_t kept;                     /* bytes kept at the cut */
    cio_tls_conn_t *tls; /* PROT P: the data connection's TLS, or NULL */
};

static inline int64_t data_deadline(struct transfer *x)
{
    return cio_deadline_in(x->data_ms);
}

/* Opens what x->kind moves (the file, the upload's temporary file or kept
 * data, the directory) and replies 150; 0, or -1 once it has replied the
 * refusal (transfer_open.c). */
int transfer_open(struct ftp_session *s, struct transfer *x, off_t rest);

/* Moves the bytes over the open data connection: 0 at the end of the
 * data, or -errno (transfer.c). */
int transfer_move(struct transfer *x);

#endif
