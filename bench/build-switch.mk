# bench_switch measures Boost.Context's jump_fcontext beside corio when the
# library is installed (Debian libboost-context-dev). Its switch routines
# have a C interface, so the C benchmark calls them directly; the static
# library is preferred, so that no PLT stub sits in the measured call.
BOOST_CONTEXT_A := $(shell $(CC) -print-file-name=libboost_context.a)
ifneq ($(BOOST_CONTEXT_A),libboost_context.a)
CIO_FCONTEXT_LIBS := $(BOOST_CONTEXT_A)
else ifeq ($(shell echo 'int main(void){return 0;}' | $(CC) -x c - -lboost_context -o /dev/null 2>/dev/null && echo yes),yes)
CIO_FCONTEXT_LIBS := -lboost_context
endif
ifneq ($(CIO_FCONTEXT_LIBS),)
LDLIBS_bench_switch += $(CIO_FCONTEXT_LIBS)
$(BUILD)/obj/bench/switch.o: CPPFLAGS += -DCIO_HAVE_FCONTEXT=1
endif
