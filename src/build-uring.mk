# io_uring: the "uring" loop backend is built when liburing is installed
# (Debian liburing-dev); without it the core needs libc alone and asking
# for "uring" falls back to epoll at run time.
HAVE_URING := $(shell printf '\043include <liburing.h>\n' | \
    $(CC) -E -x c - >/dev/null 2>&1 && echo yes)
ifeq ($(HAVE_URING),yes)
CPPFLAGS += -DCIO_HAVE_URING=1
LDLIBS   += -luring
endif
