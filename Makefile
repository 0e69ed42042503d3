# corio build. Targets: all (default), test, bench, run, install, clean.
# Layout conventions (no edits needed to add a file):
#   src/*/*.c                 -> libcorio.a / libcorio.so
#   src/arch/switch-$(ARCH).S -> the context switch for this target, if present
#   examples/NAME.c           -> build/bin/NAME
#   apps/NAME/*.c             -> build/bin/NAME  (one program per directory)
#   bench/NAME.c              -> build/bin/bench_NAME
#   tests/NAME.c              -> build/tests/NAME (run by tests/run.sh)
# Per-program link flags live in small fragments: */build*.mk, apps/*/build*.mk,
# as LDLIBS_<program> += ...  (optional peers are detected there, never required).

VERSION      := 0.1.0
SOVERSION    := 0
PREFIX       ?= /usr/local
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
SANFLAGS     := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
else
BUILD        ?= build
SANFLAGS     :=
endif

ARCH         := $(shell $(CC) -dumpmachine | cut -d- -f1)
OPT          ?= -O2
WARN         := -Wall -Wextra -Werror -Wshadow -Wno-unused-parameter
CPPFLAGS     += -D_GNU_SOURCE -Iinclude -Isrc
CFLAGS       ?= $(OPT) -g
CFLAGS       += -std=c11 $(WARN) -fPIC -pthread $(SANFLAGS)
LDFLAGS      += -pthread $(SANFLAGS)
LDLIBS       += -lpthread

SWITCH_SRC   := $(wildcard src/arch/switch-$(ARCH).S)
ifeq ($(SWITCH_SRC),)
CPPFLAGS     += -DCIO_USE_UCONTEXT=1
endif

LIB_C        := $(sort $(wildcard src/*/*.c))
LIB_OBJ      := $(patsubst %.c,$(BUILD)/obj/%.o,$(LIB_C)) \
                $(patsubst %.S,$(BUILD)/obj/%.o,$(SWITCH_SRC))
LIB_A        := $(BUILD)/lib/libcorio.a
LIB_SO       := $(BUILD)/lib/libcorio.so.$(VERSION)

EXAMPLES     := $(patsubst examples/%.c,%,$(wildcard examples/*.c))
APPS         := $(patsubst apps/%/,%,$(sort $(dir $(wildcard apps/*/*.c))))
BENCHES      := $(patsubst bench/%.c,bench_%,$(wildcard bench/*.c))
TESTS        := $(patsubst tests/%.c,%,$(wildcard tests/*.c))

PROGRAMS     := $(addprefix $(BUILD)/bin/,$(EXAMPLES) $(APPS) $(BENCHES))
TEST_BINS    := $(addprefix $(BUILD)/tests/,$(TESTS))

-include $(sort $(wildcard */build*.mk apps/*/build*.mk))

.PHONY: all lib programs tests test bench run install clean
.DEFAULT_GOAL := all
all: lib programs
lib: $(LIB_A) $(LIB_SO)
programs: $(PROGRAMS)
tests: all $(TEST_BINS)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/obj/%.o: %.S
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(SANFLAGS) -MMD -MP -c $< -o $@

$(LIB_A): $(LIB_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && $(AR) rcs $@ $^

$(LIB_SO): $(LIB_OBJ)
	@mkdir -p $(dir $@)
	$(CC) -shared -Wl,-soname,libcorio.so.$(SOVERSION) $(LDFLAGS) -o $@ $^ $(LDLIBS)
	ln -sf libcorio.so.$(VERSION) $(BUILD)/lib/libcorio.so.$(SOVERSION)
	ln -sf libcorio.so.$(VERSION) $(BUILD)/lib/libcorio.so

# Programs link the static library so they run from the build tree as they are.
$(BUILD)/bin/%: $(BUILD)/obj/examples/%.o $(LIB_A)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $< $(LIB_A) $(LDLIBS_$*) $(LDLIBS)

$(BUILD)/bin/bench_%: $(BUILD)/obj/bench/%.o $(LIB_A)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $< $(LIB_A) $(LDLIBS_bench_$*) $(LDLIBS)

$(BUILD)/tests/%: $(BUILD)/obj/tests/%.o $(LIB_A)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $< $(LIB_A) $(LDLIBS_$*) $(LDLIBS)

define app_rule
$(BUILD)/bin/$(1): $(patsubst %.c,$(BUILD)/obj/%.o,$(wildcard apps/$(1)/*.c)) $(LIB_A)
	@mkdir -p $$(dir $$@)
	$$(CC) $$(LDFLAGS) -o $$@ $$(filter %.o,$$^) $(LIB_A) $$(LDLIBS_$(1)) $$(LDLIBS)
endef
$(foreach app,$(APPS),$(eval $(call app_rule,$(app))))

test: tests
	BUILD=$(BUILD) SAN=$(SAN) sh tests/run.sh

bench: all
	BUILD=$(BUILD) sh bench/run.sh

run: all
	sh scripts/run.sh $(BUILD)

install: lib
	install -d $(DESTDIR)$(PREFIX)/include/corio $(DESTDIR)$(PREFIX)/lib/pkgconfig
	install -m 644 include/corio.h $(DESTDIR)$(PREFIX)/include/
	install -m 644 include/corio/*.h $(DESTDIR)$(PREFIX)/include/corio/
	install -m 644 $(LIB_A) $(DESTDIR)$(PREFIX)/lib/
	install -m 755 $(LIB_SO) $(DESTDIR)$(PREFIX)/lib/
	ln -sf libcorio.so.$(VERSION) $(DESTDIR)$(PREFIX)/lib/libcorio.so.$(SOVERSION)
	ln -sf libcorio.so.$(VERSION) $(DESTDIR)$(PREFIX)/lib/libcorio.so
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(VERSION)|' \
	    -e 's|@LIBS_PRIVATE@|$(if $(filter yes,$(HAVE_URING)),-luring,)|' corio.pc.in \
	    > $(DESTDIR)$(PREFIX)/lib/pkgconfig/corio.pc

clean:
	rm -rf build build-san

.SECONDARY:
-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
