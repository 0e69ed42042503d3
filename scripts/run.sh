#!/bin/sh
# `make run`: the main job. Until the FTP server is built, run the seed's
# foo/bar demo.
BUILD=${1:-build}
if [ -x "$BUILD/bin/corio-ftpd" ]; then
    exec "$BUILD/bin/corio-ftpd" --help
fi
exec "$BUILD/bin/sleep_demo"
