# The TLS library, built only when OpenSSL's headers are found (Debian
# libssl-dev); the core library keeps needing libc alone.
#   $(BUILD)/lib/libcorio_tls.a, libcorio_tls.so, corio-tls.pc on install
#   TLS_LINK: what a program adds to LDLIBS_<name> to use it
# `all:` first keeps `all` the default goal of the whole build.
all:

TLS_HAVE_OPENSSL := $(shell printf '\043include <openssl/ssl.h>\n' | \
    $(CC) -E -x c - >/dev/null 2>&1 && echo yes)
TLS_A    := $(BUILD)/lib/libcorio_tls.a
TLS_SO   := $(BUILD)/lib/libcorio_tls.so.$(VERSION)
TLS_C    := $(sort $(wildcard tls/*.c))
TLS_OBJ  := $(patsubst %.c,$(BUILD)/obj/%.o,$(TLS_C))
TLS_TESTS := $(patsubst tests/%.c,%,$(wildcard tests/tls_*.c))

ifeq ($(TLS_HAVE_OPENSSL),yes)
TLS_SSL_LIBS := $(or $(shell pkg-config --libs openssl 2>/dev/null),-lssl -lcrypto)
TLS_LINK  = $(TLS_A) $(LIB_A) $(TLS_SSL_LIBS)
all: $(TLS_A) $(TLS_SO)

$(TLS_A): $(TLS_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && $(AR) rcs $@ $^

$(TLS_SO): $(TLS_OBJ) $(LIB_SO)
	@mkdir -p $(dir $@)
	$(CC) -shared -Wl,-soname,libcorio_tls.so.$(SOVERSION) $(LDFLAGS) -o $@ \
	    $(TLS_OBJ) -L$(BUILD)/lib -lcorio $(TLS_SSL_LIBS) $(LDLIBS)
	ln -sf libcorio_tls.so.$(VERSION) $(BUILD)/lib/libcorio_tls.so.$(SOVERSION)
	ln -sf libcorio_tls.so.$(VERSION) $(BUILD)/lib/libcorio_tls.so

# Tests of the library link it; programs opt in with TLS_PROGRAM below.
$(foreach t,$(TLS_TESTS),$(eval LDLIBS_$(t) += $$(TLS_LINK)))
$(addprefix $(BUILD)/tests/,$(TLS_TESTS)): $(TLS_A)

.PHONY: install-tls
install: install-tls
install-tls: $(TLS_A) $(TLS_SO)
	install -d $(DESTDIR)$(LIBDIR)/pkgconfig
	install -m 644 $(TLS_A) $(DESTDIR)$(LIBDIR)/
	install -m 755 $(TLS_SO) $(DESTDIR)$(LIBDIR)/
	ln -sf libcorio_tls.so.$(VERSION) $(DESTDIR)$(LIBDIR)/libcorio_tls.so.$(SOVERSION)
	ln -sf libcorio_tls.so.$(VERSION) $(DESTDIR)$(LIBDIR)/libcorio_tls.so
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' \
	    -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' -e 's|@VERSION@|$(VERSION)|' \
	    tls/corio-tls.pc.in > $(DESTDIR)$(LIBDIR)/pkgconfig/corio-tls.pc

.PHONY: uninstall-tls
uninstall: uninstall-tls
uninstall-tls:
	rm -f $(DESTDIR)$(LIBDIR)/libcorio_tls.a \
	    $(DESTDIR)$(LIBDIR)/libcorio_tls.so \
	    $(DESTDIR)$(LIBDIR)/libcorio_tls.so.$(SOVERSION) \
	    $(DESTDIR)$(LIBDIR)/libcorio_tls.so.$(VERSION) \
	    $(DESTDIR)$(LIBDIR)/pkgconfig/corio-tls.pc
else
# Without OpenSSL the TLS tests build as a SKIP and programs lose --tls.
$(addprefix $(BUILD)/obj/tests/,$(addsuffix .o,$(TLS_TESTS))): CPPFLAGS += -DCIO_NO_TLS=1
endif

# tls_program(NAME, OBJECTS): NAME links the library and its OBJECTS are
# compiled with CIO_HAVE_TLS=1 when OpenSSL is here.
define tls_program
ifeq ($(TLS_HAVE_OPENSSL),yes)
LDLIBS_$(1) += $$(TLS_LINK)
$(BUILD)/bin/$(1): $(TLS_A)
$(2): CPPFLAGS += -DCIO_HAVE_TLS=1
endif
endef

# Programs with a TLS mode.
$(eval $(call tls_program,echo_server,$(BUILD)/obj/examples/echo_server.o))
$(eval $(call tls_program,bench_loadgen,$(BUILD)/obj/bench/loadgen.o))
$(eval $(call tls_program,bench_tls_echo,$(BUILD)/obj/bench/tls_echo.o))
$(eval $(call tls_program,corio-ftpd,$(BUILD)/obj/apps/corio-ftpd/ftps.o))
$(eval $(call tls_program,corio-ftp,$(BUILD)/obj/apps/corio-ftp/ftps.o))
$(eval $(call tls_program,bench_ftpload,$(BUILD)/obj/bench/ftpload.o))
