#!/bin/sh
# `make run`: serve ./ftp-root on 127.0.0.1:2121 with corio-ftpd, anonymous
# read-only access and a demo user with a fresh random password, and print
# the commands to try. Ctrl-C stops the server.
BUILD=${1:-build}
FTPD="$BUILD/bin/corio-ftpd"
PORT=${PORT:-2121}
if [ ! -x "$FTPD" ]; then
    echo "run: $FTPD is missing; run make first" >&2
    exit 1
fi
mkdir -p ftp-root
if [ ! -e ftp-root/README ]; then
    cat > ftp-root/README <<'EOF'
This directory is served by corio-ftpd (make run).

Anonymous users may download; the demo user may also upload, rename,
delete and make directories. Files uploaded land here.
EOF
fi
PASSWORD=$(od -An -N9 -tx1 /dev/urandom | tr -d ' \n')
cat <<EOF
corio-ftpd: serving ./ftp-root on 127.0.0.1:$PORT
  demo user:  demo / $PASSWORD
  anonymous:  read-only

Try:
  curl ftp://127.0.0.1:$PORT/
  curl -O ftp://127.0.0.1:$PORT/README
  curl -T Makefile ftp://demo:$PASSWORD@127.0.0.1:$PORT/
  lftp -u demo,$PASSWORD -p $PORT 127.0.0.1
  python3 -c "import ftplib; f = ftplib.FTP(); f.connect('127.0.0.1', $PORT); f.login('demo', '$PASSWORD'); f.retrlines('LIST')"

Ctrl-C stops the server.
EOF
exec "$FTPD" --root "$PWD/ftp-root" --listen 127.0.0.1 --port "$PORT" \
    --anonymous --user "demo:$PASSWORD" --pasv-ports 50000-50100
