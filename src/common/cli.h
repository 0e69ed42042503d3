/* The command-line conventions of corio's programs (examples, apps,
 * benchmarks); not part of the library. Each program calls cli_begin before
 * its own parsing:
 *   --help     prints the usage on stdout and exits 0
 *   --version  prints "NAME (corio X.Y.Z)" and exits 0
 *   --anything-else is refused by name, exit status 2
 * and cli_fail for a bad command line. cli_strerror names a failed name
 * lookup as such instead of "No such file or directory". */
#ifndef CORIO_COMMON_CLI_H
#define CORIO_COMMON_CLI_H

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "corio.h"

/* Prints the usage on stdout and exits 0 (--help, and -h where a program
 * has it). */
__attribute__((noreturn)) static inline void
cli_help(const char *name, const char *usage, const char *help)
{
    printf("usage: %s %s\n%s", name, usage, help ? help : "");
    exit(0);
}

/* Handles --help, --version and unknown long options among argv[1..n-1]
 * (n = argc, or fewer for programs that pass later arguments on). usage is
 * the synopsis after the name; help (may be NULL) the lines that follow. */
static inline void cli_begin(int n, char **argv, const char *name,
                             const char *usage, const char *help)
{
    for (int i = 1; i < n && strcmp(argv[i], "--") != 0; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help"))
            cli_help(name, usage, help);
        if (!strcmp(a, "--version")) {
            printf("%s (corio %d.%d.%d)\n", name, CIO_VERSION_MAJOR,
                   CIO_VERSION_MINOR, CIO_VERSION_PATCH);
            exit(0);
        }
        if (a[0] == '-' && a[1] == '-' && a[2]) {
            fprintf(stderr, "%s: unknown option %s (see %s --help)\n", name, a,
                    name);
            exit(2);
        }
    }
}

/* A bad command line: the synopsis on stderr, exit status 2. */
__attribute__((noreturn)) static inline void cli_fail(const char *name,
                                                      const char *usage)
{
    fprintf(stderr, "usage: %s %s\n(see %s --help)\n", name, usage, name);
    exit(2);
}

/* The text for err from a call that resolved a host name: -ENOENT and
 * -EAGAIN come from the lookup there, not from a file. */
static inline const char *cli_strerror(int err, bool name_lookup)
{
    if (name_lookup && err == -ENOENT)
        return "no such host name";
    if (name_lookup && err == -EAGAIN)
        return "name lookup failed (temporary failure or no resolver)";
    return cio_strerror(err);
}

#endif
