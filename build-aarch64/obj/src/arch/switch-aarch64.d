build-aarch64/obj/src/arch/switch-aarch64.o: src/arch/switch-aarch64.S
