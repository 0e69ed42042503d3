/* The blocking client hooked_clients runs in every task: ordinary code
 * that knows nothing of corio. */
#ifndef HOOKED_CLIENTS_CLIENT_H
#define HOOKED_CLIENTS_CLIENT_H

/* Connects to host:port, sends `rounds` lines and reads each echo back.
 * Returns 0 when every reply matched, else -1 (errno tells why). */
int echo_client(const char *host, const char *port, int id, int rounds);

#endif
