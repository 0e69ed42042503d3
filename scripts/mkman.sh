#!/bin/sh
# Writes one section 3 man page per public function into OUTDIR, from the
# headers: a function's page is the comment right above its declaration (or
# above the group of declarations it opens), the declaration itself, and the
# common error lists the comment refers to. Fails, naming them, when a
# public function has no comment.
#   sh scripts/mkman.sh OUTDIR [VERSION]
set -eu
out=${1:?usage: mkman.sh OUTDIR [VERSION]}
version=${2:-}
cd "$(dirname "$0")/.."
[ -n "$version" ] ||
    version=$(sed -n 's/^VERSION *:= *//p' Makefile)
mkdir -p "$out"
rm -f "$out"/*.3
status=0
for h in include/corio.h include/corio/*.h; do
    case $h in */export.h | */hook.h) continue ;; esac
    awk -v h="$h" -v out="$out" -v version="$version" '
    function roff(s) {
        gsub(/\\/, "\\e", s)
        if (s ~ /^[.\x27]/)
            s = "\\&" s
        return s
    }
    function flush_group(   i, name, f, summary, j) {
        if (ngroup == 0)
            return
        summary = doc_first
        if (length(summary) > 110)
            summary = substr(summary, 1, 107) "..."
        for (i = 1; i <= ngroup; i++) {
            name = group[i]
            if (!has_doc) {
                print "mkman: " h ": " name " has no comment" > "/dev/stderr"
                missing++
                continue
            }
            f = out "/" name ".3"
            print ".TH " toupper(name) " 3 \"\" \"corio " version "\" \"corio\"" > f
            print ".SH NAME" > f
            print name " \\- " roff(summary) > f
            print ".SH SYNOPSIS" > f
            print ".nf" > f
            print ".B #include <corio.h>" > f
            print ".PP" > f
            print roff(decls[i]) > f
            print ".fi" > f
            print ".PP" > f
            print "Link with \\fI-lcorio -pthread\\fP (pkg-config corio)." > f
            print ".SH DESCRIPTION" > f
            for (j = 1; j <= ndoc; j++)
                print roff(doc[j]) > f
            if (alltext ~ /wait errors/) {
                print ".SH ERRORS" > f
                print "The wait errors of a blocking call:" > f
                print ".TP\n.B ETIMEDOUT\nthe deadline passed." > f
                print ".TP\n.B ECANCELED\nthe task was killed (cio_task_kill)." > f
                print ".TP\n.B EINTR\nthe task was interrupted (cio_task_interrupt)." > f
                print ".TP\n.B EPERM\ncalled outside a task." > f
                print ".TP\n.B ENOMEM\nno memory to arm the deadline." > f
                if (alltext ~ /fd errors/) {
                    print ".TP\n.B EBADF\nfd < 0, or closed by cio_fd_close while waiting." > f
                    print ".TP\n.B EEXIST\nthe program registered fd on the hub loop itself." > f
                    print ".TP\n.B EINVAL\nselect backend: fd >= FD_SETSIZE." > f
                }
                print ".PP" > f
                print "Errors are returned negated, as -ETIMEDOUT and so on." > f
            } else if (alltext ~ /fd errors/) {
                print ".SH ERRORS" > f
                print "The fd errors: the wait errors of a blocking call (ETIMEDOUT, ECANCELED, EINTR, EPERM, ENOMEM), and" > f
                print ".TP\n.B EBADF\nfd < 0, or closed by cio_fd_close while waiting." > f
                print ".TP\n.B EEXIST\nthe program registered fd on the hub loop itself." > f
                print ".TP\n.B EINVAL\nselect backend: fd >= FD_SETSIZE." > f
                print ".PP" > f
                print "Errors are returned negated, as -EBADF and so on." > f
            }
            print ".SH SEE ALSO" > f
            seealso = ""
            for (j = 1; j <= ngroup; j++)
                if (j != i)
                    seealso = seealso "\\fB" group[j] "\\fP(3), "
            print seealso "\\fI" substr(h, index(h, "/") + 1) "\\fP" > f
            close(f)
        }
        ngroup = 0
    }
    BEGIN { has_doc = 0; ngroup = 0; in_decl = 0; missing = 0 }
    # a comment: it documents what follows it directly
    /^\/\*/ && !in_decl {
        flush_group()
        ndoc = 0; alltext = ""; in_c = 1
    }
    in_c {
        line = $0
        sub(/^\/\* ?/, "", line); sub(/^ *\*\/ *$/, "", line)
        sub(/^ \* ?/, "", line); sub(/ *\*\/ *$/, "", line)
        if (line != "" || ndoc > 0)
            doc[++ndoc] = line
        alltext = alltext " " line
        if ($0 ~ /\*\//) {
            in_c = 0; has_doc = 1
            doc_first = doc[1]
            for (j = 2; j <= ndoc && doc_first !~ /\.( |$)/; j++)
                doc_first = doc_first " " doc[j]
            sub(/\. .*/, ".", doc_first)
            just_commented = 1
        }
        next
    }
    /^CIO_API / { in_decl = 1; decl = "" }
    in_decl {
        d = $0
        sub(/^CIO_API /, "", d)
        sub(/^ +/, " ", d)
        decl = decl (decl == "" ? "" : "\n") d
        if ($0 ~ /;/) {
            in_decl = 0
            name = decl
            gsub(/\n/, " ", name)
            sub(/\(.*/, "", name)
            n = split(name, w, /[ *]+/)
            group[++ngroup] = w[n]
            decls[ngroup] = decl
        }
        next
    }
    # anything else (a blank line, a typedef) ends the group; a comment
    # only documents the declarations right below it
    {
        flush_group()
        has_doc = 0
    }
    END {
        flush_group()
        exit missing ? 1 : 0
    }' "$h" || status=1
done
[ "$status" -eq 0 ] || { echo "mkman: public functions without a comment" >&2; exit 1; }
