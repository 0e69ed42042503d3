# io_uring: the "uring" loop backend is built when liburing is installed
# for the target (Debian liburing-dev: the header and the library link);
# without it the core needs libc alone and asking for "uring" falls back to
# epoll at run time.
HAVE_URING := $(shell printf '\043include <liburing.h>\nint main(void){return 0;}\n' | \
    $(CC) -x c - -o /dev/null -luring >/dev/null 2>&1 && echo yes)
ifeq ($(HAVE_URING),yes)
CPPFLAGS += -DCIO_HAVE_URING=1
LDLIBS   += -luring
endif
