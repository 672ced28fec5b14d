// libFuzzer's documented entry for programs that have their own main (LLVMFuzzerRunDriver, LLVM >= 11).
// SwiftPM links every executable with main aliased to `<Module>_main`, so libFuzzer's own main is never used:
// each target defines `<Module>_main` and hands control to this driver.
#pragma once
#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));
