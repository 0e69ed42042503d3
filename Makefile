# corio build. Targets: all (default), test, bench, run, man, install,
# uninstall, clean.
# Layout conventions (no edits needed to add a file):
#   src/*/*.c                 -> libcorio.a / libcorio.so
#   src/arch/switch-$(ARCH).S -> the context switch for this target, if present
#   examples/NAME.c           -> build/bin/NAME
#   apps/NAME/*.c             -> build/bin/NAME  (one program per directory)
#   bench/NAME.c              -> build/bin/bench_NAME
#   tests/NAME.c              -> build/tests/NAME (run by tests/run.sh)
# Optional parts live in small fragments, */build*.mk and apps/*/build*.mk:
# per-program link flags (LDLIBS_<program> += ...), optional peers (detected
# there, never required), and the hook and TLS libraries (hook/, tls/).
#
# User variables are added to what the build needs, never replace it:
#   CFLAGS (default -O2 -g), CPPFLAGS, LDFLAGS, LDLIBS
#   WERROR=0   warnings do not fail the build (a release build); default 1
#   PREFIX, LIBDIR, INCLUDEDIR, MANDIR, DESTDIR   for install and uninstall
#   TESTS="a b"  make test runs exactly these tests

VERSION      := 1.0.0
SOVERSION    := 1
PREFIX       ?= /usr/local
LIBDIR       ?= $(PREFIX)/lib
INCLUDEDIR   ?= $(PREFIX)/include
MANDIR       ?= $(PREFIX)/share/man
CC           ?= cc
CROSS        ?=
ifneq ($(CROSS),)
CC           := $(CROSS)gcc
AR           := $(CROSS)ar
endif
AR           ?= ar

SAN          ?= 0
ifeq ($(SAN),1)
BUILD        ?= build-san
SANFLAGS     ?= -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
else
BUILD        ?= build
SANFLAGS     ?=
endif

ARCH         := $(shell $(CC) -dumpmachine | cut -d- -f1)
OPT          ?= -O2
CFLAGS       ?= $(OPT) -g
WERROR       ?= 1
WARN         := -Wall -Wextra -Wshadow -Wno-unused-parameter -Wmissing-prototypes
ifeq ($(WERROR),1)
WARN         += -Werror
endif

# What the build needs, then the user's flags (as Redis's FINAL_CFLAGS).
FINAL_CPPFLAGS = -D_GNU_SOURCE -Iinclude -Isrc $(EXTRA_CPPFLAGS) $(CPPFLAGS)
FINAL_CFLAGS   = -std=c11 $(WARN) -fPIC -pthread $(SANFLAGS) $(VISIBILITY) $(CFLAGS)
FINAL_LDFLAGS  = -pthread $(SANFLAGS) $(LDFLAGS)
FINAL_LDLIBS   = $(LDLIBS) -lpthread

SWITCH_SRC   := $(wildcard src/arch/switch-$(ARCH).S)
ifeq ($(SWITCH_SRC),)
EXTRA_CPPFLAGS += -DCIO_USE_UCONTEXT=1
endif

LIB_C        := $(sort $(wildcard src/*/*.c))
LIB_OBJ      := $(patsubst %.c,$(BUILD)/obj/%.o,$(LIB_C)) \
                $(patsubst %.S,$(BUILD)/obj/%.o,$(SWITCH_SRC))
LIB_A        := $(BUILD)/lib/libcorio.a
LIB_SO       := $(BUILD)/lib/libcorio.so.$(VERSION)

# The library exports only what the headers mark CIO_API.
$(BUILD)/obj/src/%.o: VISIBILITY := -fvisibility=hidden

EXAMPLES     := $(patsubst examples/%.c,%,$(wildcard examples/*.c))
APPS         := $(patsubst apps/%/,%,$(sort $(dir $(wildcard apps/*/*.c))))
BENCHES      := $(patsubst bench/%.c,bench_%,$(wildcard bench/*.c))
C_TESTS      := $(patsubst tests/%.c,%,$(wildcard tests/*.c))
ifneq ($(strip $(TESTS)),)
C_TESTS      := $(filter $(C_TESTS),$(TESTS))
endif

PROGRAMS     := $(addprefix $(BUILD)/bin/,$(EXAMPLES) $(APPS) $(BENCHES))
TEST_BINS    := $(addprefix $(BUILD)/tests/,$(C_TESTS))

# Optional peers (libcurl, libcrypto, libuv...) are detected on every run of
# make; $(call peer_stamp,NAME,RESULT) writes $(BUILD)/peers/NAME when the
# result changed, so what depends on it is rebuilt when a peer comes or goes.
peer_stamp = $(shell mkdir -p $(BUILD)/peers && \
    { [ "$$(cat $(BUILD)/peers/$(1) 2>/dev/null)" = "$(2)" ] || \
      echo "$(2)" > $(BUILD)/peers/$(1); } && echo $(BUILD)/peers/$(1))

# The compile flags are recorded too: objects built with other flags (a
# changed CFLAGS, SANFLAGS, WERROR, or a Makefile that hides symbols) are
# rebuilt. Written with $(file), so no quoting of the flags can break it.
FLAGS_LINE   = $(CC) $(FINAL_CPPFLAGS) $(FINAL_CFLAGS) vis=hidden-in-src
FLAGS_STAMP  := $(BUILD)/peers/flags
$(shell mkdir -p $(BUILD)/peers)
$(file >$(FLAGS_STAMP).new,$(FLAGS_LINE))
$(shell cmp -s $(FLAGS_STAMP).new $(FLAGS_STAMP) || mv -f $(FLAGS_STAMP).new $(FLAGS_STAMP); rm -f $(FLAGS_STAMP).new)

-include $(sort $(wildcard */build*.mk apps/*/build*.mk))

.PHONY: all lib programs tests test bench run man install uninstall clean
.DEFAULT_GOAL := all
all: lib programs
lib: $(LIB_A) $(LIB_SO)
programs: $(PROGRAMS)
tests: all $(TEST_BINS)

$(BUILD)/obj/%.o: %.c $(FLAGS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(FINAL_CPPFLAGS) $(FINAL_CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/obj/%.o: %.S $(FLAGS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(FINAL_CPPFLAGS) $(FINAL_CFLAGS) -MMD -MP -c $< -o $@

$(LIB_A): $(LIB_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && $(AR) rcs $@ $^

$(LIB_SO): $(LIB_OBJ)
	@mkdir -p $(dir $@)
	$(CC) -shared -Wl,-soname,libcorio.so.$(SOVERSION) $(FINAL_LDFLAGS) -o $@ $^ $(FINAL_LDLIBS)
	ln -sf libcorio.so.$(VERSION) $(BUILD)/lib/libcorio.so.$(SOVERSION)
	ln -sf libcorio.so.$(VERSION) $(BUILD)/lib/libcorio.so

# Programs link the static library so they run from the build tree as they are.
$(BUILD)/bin/%: $(BUILD)/obj/examples/%.o $(LIB_A)
	@mkdir -p $(dir $@)
	$(CC) $(FINAL_LDFLAGS) -o $@ $< $(LIB_A) $(LDLIBS_$*) $(FINAL_LDLIBS)

$(BUILD)/bin/bench_%: $(BUILD)/obj/bench/%.o $(LIB_A)
	@mkdir -p $(dir $@)
	$(CC) $(FINAL_LDFLAGS) -o $@ $< $(LIB_A) $(LDLIBS_bench_$*) $(FINAL_LDLIBS)

$(BUILD)/tests/%: $(BUILD)/obj/tests/%.o $(LIB_A)
	@mkdir -p $(dir $@)
	$(CC) $(FINAL_LDFLAGS) -o $@ $< $(LIB_A) $(LDLIBS_$*) $(FINAL_LDLIBS)

define app_rule
$(BUILD)/bin/$(1): $(patsubst %.c,$(BUILD)/obj/%.o,$(wildcard apps/$(1)/*.c)) $(LIB_A)
	@mkdir -p $$(dir $$@)
	$$(CC) $$(FINAL_LDFLAGS) -o $$@ $$(filter %.o,$$^) $(LIB_A) $$(LDLIBS_$(1)) $$(FINAL_LDLIBS)
endef
$(foreach app,$(APPS),$(eval $(call app_rule,$(app))))

test: tests
	BUILD=$(BUILD) SAN=$(SAN) TESTS="$(TESTS)" sh tests/run.sh

bench: all
	BUILD=$(BUILD) sh bench/run.sh

run: all
	sh scripts/run.sh $(BUILD)

# Section 3 man pages, one per public function, from the header comments.
man:
	sh scripts/mkman.sh $(BUILD)/man $(VERSION)

install: lib man
	install -d $(DESTDIR)$(INCLUDEDIR)/corio $(DESTDIR)$(LIBDIR)/pkgconfig \
	    $(DESTDIR)$(MANDIR)/man3
	install -m 644 include/corio.h $(DESTDIR)$(INCLUDEDIR)/
	install -m 644 include/corio/*.h $(DESTDIR)$(INCLUDEDIR)/corio/
	install -m 644 $(LIB_A) $(DESTDIR)$(LIBDIR)/
	install -m 755 $(LIB_SO) $(DESTDIR)$(LIBDIR)/
	ln -sf libcorio.so.$(VERSION) $(DESTDIR)$(LIBDIR)/libcorio.so.$(SOVERSION)
	ln -sf libcorio.so.$(VERSION) $(DESTDIR)$(LIBDIR)/libcorio.so
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' \
	    -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' -e 's|@VERSION@|$(VERSION)|' \
	    -e 's|@LIBS_PRIVATE@|$(if $(filter yes,$(HAVE_URING)),-luring,)|' \
	    corio.pc.in > $(DESTDIR)$(LIBDIR)/pkgconfig/corio.pc
	install -m 644 $(BUILD)/man/*.3 $(DESTDIR)$(MANDIR)/man3/

# Removes what install put there (the man pages by the list of this tree's).
uninstall: man
	rm -f $(DESTDIR)$(INCLUDEDIR)/corio.h
	rm -f $(addprefix $(DESTDIR)$(INCLUDEDIR)/corio/,$(notdir $(wildcard include/corio/*.h)))
	-rmdir $(DESTDIR)$(INCLUDEDIR)/corio 2>/dev/null
	rm -f $(DESTDIR)$(LIBDIR)/libcorio.a $(DESTDIR)$(LIBDIR)/libcorio.so \
	    $(DESTDIR)$(LIBDIR)/libcorio.so.$(SOVERSION) \
	    $(DESTDIR)$(LIBDIR)/libcorio.so.$(VERSION) \
	    $(DESTDIR)$(LIBDIR)/pkgconfig/corio.pc
	for f in $(BUILD)/man/*.3; do rm -f $(DESTDIR)$(MANDIR)/man3/$${f##*/}; done

# Every build directory: this one, the sanitizers', and those the tests
# make (TSan, ucontext, aarch64, another compiler's).
clean:
	rm -rf build build-san build-clang build-tsan* build-ucontext* build-aarch64*

.SECONDARY:
-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
