#ifndef CFUZZDRIVER_H
#define CFUZZDRIVER_H

#include <stddef.h>
#include <stdint.h>

// libFuzzer's driver (LLVM 11 and later). SwiftPM links an executable target with `main` aliased to
// `<module>_main`, so libFuzzer's own `main` is never used: each harness defines `<module>_main` and calls this.
// Only referenced when a harness is built with -DFUZZING (and -sanitize=fuzzer, which links libFuzzer).
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));

#endif
