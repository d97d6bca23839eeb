// The PKCS#11 (Cryptoki) C interface, as published by OASIS and shipped by p11-kit, visible to
// VaultHSM only. The module itself (SoftHSM2, a network HSM's client library) is loaded at run
// time with dlopen: nothing links against a vendor's library.
#include <p11-kit/pkcs11.h>
#include <dlfcn.h>
