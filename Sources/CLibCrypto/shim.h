#ifndef MOLECULE_CLIBCRYPTO_SHIM_H
#define MOLECULE_CLIBCRYPTO_SHIM_H
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/bio.h>
#include <openssl/pem.h>
#endif
