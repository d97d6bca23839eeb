#ifndef CARDVAULT_CSODIUM_SHIM_H
#define CARDVAULT_CSODIUM_SHIM_H
#include <sodium.h>
#if defined(__linux__)
#include <sys/prctl.h>
/// prctl is variadic and so not importable into Swift; this wrapper makes the process
/// non-dumpable (no core files, no ptrace attach by same-uid processes).
static inline int cardvault_disable_dumpable(void) { return prctl(PR_SET_DUMPABLE, 0, 0, 0, 0); }
#else
static inline int cardvault_disable_dumpable(void) { return 0; }
#endif
#endif
