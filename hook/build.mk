# The hook library: blocking libc calls made in a task wait cooperatively.
#   $(BUILD)/lib/libcorio_hook.a   link it: $(HOOK_LINK) after libcorio.a
#   $(BUILD)/lib/libcorio_hook.so  LD_PRELOAD it (carries libcorio inside);
#   a symlink to libcorio_hook.so.$(VERSION), soname libcorio_hook.so.1
# This is the first rule of the fragment on purpose: `all` stays the
# default goal.
all: $(BUILD)/lib/libcorio_hook.a $(BUILD)/lib/libcorio_hook.so.$(VERSION)

HOOK_C   := $(sort $(wildcard hook/*.c))
HOOK_OBJ := $(patsubst %.c,$(BUILD)/obj/%.o,$(HOOK_C))
HOOK_A   := $(BUILD)/lib/libcorio_hook.a
HOOK_SO  := $(BUILD)/lib/libcorio_hook.so.$(VERSION)

# What a program (or test) adds to LDLIBS_<name> to run with the hooks:
# every hook object (nothing references them by name: they replace libc's
# functions), then libcorio again for what only the hooks use.
HOOK_LINK = -Wl,--whole-archive $(HOOK_A) -Wl,--no-whole-archive $(LIB_A) -ldl

$(HOOK_A): $(HOOK_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && $(AR) rcs $@ $^

$(HOOK_SO): $(HOOK_OBJ) $(LIB_OBJ)
	@mkdir -p $(dir $@)
	$(CC) -shared -Wl,-soname,libcorio_hook.so.$(SOVERSION) $(FINAL_LDFLAGS) \
	    -o $@ $^ -ldl $(FINAL_LDLIBS)
	ln -sf libcorio_hook.so.$(VERSION) $(BUILD)/lib/libcorio_hook.so.$(SOVERSION)
	ln -sf libcorio_hook.so.$(VERSION) $(BUILD)/lib/libcorio_hook.so

# `make install` also installs the hook library (its header is with the others).
.PHONY: install-hook
install: install-hook
install-hook: $(HOOK_A) $(HOOK_SO)
	install -d $(DESTDIR)$(LIBDIR)
	install -m 644 $(HOOK_A) $(DESTDIR)$(LIBDIR)/
	install -m 755 $(HOOK_SO) $(DESTDIR)$(LIBDIR)/
	ln -sf libcorio_hook.so.$(VERSION) $(DESTDIR)$(LIBDIR)/libcorio_hook.so.$(SOVERSION)
	ln -sf libcorio_hook.so.$(VERSION) $(DESTDIR)$(LIBDIR)/libcorio_hook.so

.PHONY: uninstall-hook
uninstall: uninstall-hook
uninstall-hook:
	rm -f $(DESTDIR)$(LIBDIR)/libcorio_hook.a \
	    $(DESTDIR)$(LIBDIR)/libcorio_hook.so \
	    $(DESTDIR)$(LIBDIR)/libcorio_hook.so.$(SOVERSION) \
	    $(DESTDIR)$(LIBDIR)/libcorio_hook.so.$(VERSION)
