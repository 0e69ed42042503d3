/* Command handlers, grouped by the file that implements them. Each gets
 * the session and the argument ("" when absent, never containing NUL). */
#ifndef FTPD_COMMANDS_H
#define FTPD_COMMANDS_H

#include "ftpd.h"
#include "reply.h"

/* commands_auth.c: login and the session's lifetime */
void cmd_user(struct ftp_session *s, char *arg);
void cmd_pass(struct ftp_session *s, char *arg);
void cmd_acct(struct ftp_session *s, char *arg);
void cmd_rein(struct ftp_session *s, char *arg);
void cmd_quit(struct ftp_session *s, char *arg);

/* commands_fs.c: navigation and file management */
void cmd_pwd(struct ftp_session *s, char *arg);
void cmd_cwd(struct ftp_session *s, char *arg);
void cmd_cdup(struct ftp_session *s, char *arg);
void cmd_mkd(struct ftp_session *s, char *arg);
void cmd_rmd(struct ftp_session *s, char *arg);
void cmd_dele(struct ftp_session *s, char *arg);
void cmd_rnfr(struct ftp_session *s, char *arg);
void cmd_rnto(struct ftp_session *s, char *arg);
void cmd_size(struct ftp_session *s, char *arg);
void cmd_mdtm(struct ftp_session *s, char *arg);
void cmd_mfmt(struct ftp_session *s, char *arg);
void cmd_mlst(struct ftp_session *s, char *arg);
void cmd_hash(struct ftp_session *s, char *arg);
void commands_site_chmod(struct ftp_session *s, char *arg);
void commands_stat_path(struct ftp_session *s, char *arg);

/* commands_xfer.c: data connections and transfers */
void cmd_pasv(struct ftp_session *s, char *arg);
void cmd_epsv(struct ftp_session *s, char *arg);
void cmd_port(struct ftp_session *s, char *arg);
void cmd_eprt(struct ftp_session *s, char *arg);
void cmd_rest(struct ftp_session *s, char *arg);
void cmd_retr(struct ftp_session *s, char *arg);
void cmd_stor(struct ftp_session *s, char *arg);
void cmd_appe(struct ftp_session *s, char *arg);
void cmd_stou(struct ftp_session *s, char *arg);
void cmd_list(struct ftp_session *s, char *arg);
void cmd_nlst(struct ftp_session *s, char *arg);
void cmd_mlsd(struct ftp_session *s, char *arg);
void cmd_abor(struct ftp_session *s, char *arg);

#endif
