# Tests of the hook library. `all:` first keeps `all` the default goal.
all:

# Every tests/hook_*.c links the hook library, except hook_preload, which
# must not: it gets the hooks from LD_PRELOAD (and links libcorio.so).
HOOK_TESTS := $(patsubst tests/%.c,%,$(wildcard tests/hook_*.c))
$(foreach t,$(filter-out hook_preload,$(HOOK_TESTS)),\
    $(eval LDLIBS_$(t) += $$(HOOK_LINK)))
$(addprefix $(BUILD)/tests/,$(HOOK_TESTS)): $(BUILD)/lib/libcorio_hook.a \
    $(BUILD)/lib/libcorio_hook.so.$(VERSION)

# libcurl is optional: hook_curl skips (exit 77) when it is missing. Checked
# on every make: installing it later rebuilds hook_curl (the stamp changes).
HOOK_HAVE_CURL := $(shell printf '\043include <curl/curl.h>\n' | \
    $(CC) -E -x c - >/dev/null 2>&1 && echo yes)
ifeq ($(HOOK_HAVE_CURL),yes)
LDLIBS_hook_curl += -lcurl
endif
$(BUILD)/obj/tests/hook_curl.o: $(call peer_stamp,curl,$(HOOK_HAVE_CURL))

$(BUILD)/tests/hook_preload: $(BUILD)/obj/tests/hook_preload.o $(LIB_SO)
	@mkdir -p $(dir $@)
	$(CC) $(FINAL_LDFLAGS) -o $@ $(filter %.o,$^) -L$(BUILD)/lib -lcorio \
	    -Wl,-rpath,'$$ORIGIN/../lib' $(FINAL_LDLIBS)
