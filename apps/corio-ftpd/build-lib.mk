# Link flags for corio-ftpd and unit-test rules for its support modules (path
# jail, users, listings, transfer log, hashes).

# crypt(3) hashes for the users file (libxcrypt).
LDLIBS_corio-ftpd += -lcrypt

# SHA-256 for the HASH command when OpenSSL's libcrypto is installed; without
# it hash_sha256_fd() returns -ENOSYS and HASH is not advertised.
FTPD_HAVE_LIBCRYPTO := $(shell pkg-config --exists libcrypto && echo 1)
FTPD_OBJ := $(BUILD)/obj/apps/corio-ftpd
ifeq ($(FTPD_HAVE_LIBCRYPTO),1)
FTPD_LIBCRYPTO := $(or $(shell pkg-config --libs libcrypto),-lcrypto)
LDLIBS_corio-ftpd += $(FTPD_LIBCRYPTO)
$(FTPD_OBJ)/hash.o: EXTRA_CPPFLAGS += -DFTPD_HAVE_LIBCRYPTO=1 \
                               $(shell pkg-config --cflags libcrypto)
endif
$(FTPD_OBJ)/hash.o: $(call peer_stamp,libcrypto,$(FTPD_HAVE_LIBCRYPTO))

# Unit tests link the module objects they exercise (tests/ftpd_*.c).
$(BUILD)/tests/ftpd_vfs: $(FTPD_OBJ)/vfs.o $(FTPD_OBJ)/vfs_walk.o
LDLIBS_ftpd_vfs += $(FTPD_OBJ)/vfs.o $(FTPD_OBJ)/vfs_walk.o
$(BUILD)/tests/ftpd_auth: $(FTPD_OBJ)/auth.o
LDLIBS_ftpd_auth += $(FTPD_OBJ)/auth.o -lcrypt
$(BUILD)/tests/ftpd_listing: $(FTPD_OBJ)/listing.o $(FTPD_OBJ)/xferlog.o
LDLIBS_ftpd_listing += $(FTPD_OBJ)/listing.o $(FTPD_OBJ)/xferlog.o
$(BUILD)/tests/ftpd_hash: $(FTPD_OBJ)/hash.o
LDLIBS_ftpd_hash += $(FTPD_OBJ)/hash.o $(FTPD_LIBCRYPTO)
