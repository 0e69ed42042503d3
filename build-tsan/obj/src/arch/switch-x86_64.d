build-tsan/obj/src/arch/switch-x86_64.o: src/arch/switch-x86_64.S
