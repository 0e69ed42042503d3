#!/bin/sh
# The fault-and-soak run (bench/soak.sh) for SOAK_SECONDS (default 120 here)
# against corio-ftpd built with ASan+UBSan: must end with no corrupted
# transfer, no partial file under a final name, no sanitizer report, and
# RSS and open fds flat. The SAN=1 pass skips it: the normal pass already
# runs the server with sanitizers.
# CIO_TEST_TIMEOUT=420
set -u
if [ "${SAN:-0}" = 1 ]; then
    echo "SKIP: the soak builds its own ASan+UBSan server; the normal pass runs it"
    exit 77
fi
SOAK_SECONDS=${SOAK_SECONDS:-120} exec sh bench/soak.sh
