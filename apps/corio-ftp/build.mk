# corio-ftp: line editing, history and completion in the interactive shell
# when libedit is installed (Debian libedit-dev); without it the shell reads
# plain lines.
FTP_HAVE_LIBEDIT := $(shell pkg-config --exists libedit && echo 1)
ifeq ($(FTP_HAVE_LIBEDIT),1)
LDLIBS_corio-ftp += $(or $(shell pkg-config --libs libedit),-ledit)
$(BUILD)/obj/apps/corio-ftp/lineedit.o: CPPFLAGS += -DFTP_HAVE_LIBEDIT=1 \
                                  $(shell pkg-config --cflags libedit)
endif
