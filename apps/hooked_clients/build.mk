# hooked_clients links the hook library: its client code is plain blocking
# code. `all:` first keeps `all` the default goal of the whole build.
all:
LDLIBS_hooked_clients += $(HOOK_LINK)
$(BUILD)/bin/hooked_clients: $(BUILD)/lib/libcorio_hook.a
