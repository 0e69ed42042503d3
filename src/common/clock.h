/* The one monotonic clock of corio: milliseconds on CLOCK_MONOTONIC. The
 * loop caches it per iteration (cio_loop_now); deadlines from threads that
 * run no loop (channels, the process supervisor) read it directly. */
#ifndef CORIO_COMMON_CLOCK_H
#define CORIO_COMMON_CLOCK_H

#include <stdint.h>

/* Now, in milliseconds on CLOCK_MONOTONIC. */
int64_t cio__mono_ms(void);

#endif
