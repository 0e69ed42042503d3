# `make fuzz FUZZ_SECONDS=N`: corio-ftpd's libFuzzer target for N seconds
# (default 60); inputs that reach new code join apps/corio-ftpd/fuzz/corpus.
FUZZ_SECONDS ?= 60
.PHONY: fuzz
fuzz:
	BUILD=$(BUILD) FTPD_FUZZ_SECONDS=$(FUZZ_SECONDS) FTPD_FUZZ_MERGE=1 \
	    sh tests/ftpd_fuzz.sh
