// Declarations only; the driver is in libclang_rt.fuzzer, linked by -sanitize=fuzzer.
