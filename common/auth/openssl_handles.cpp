#include "common/auth/openssl_handles.hpp"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>

namespace switchboard::auth {

void openssl_free::operator()(EVP_PKEY* key) const noexcept { EVP_PKEY_free(key); }
void openssl_free::operator()(BIO* bio) const noexcept { BIO_free(bio); }
void openssl_free::operator()(EVP_MD_CTX* ctx) const noexcept { EVP_MD_CTX_free(ctx); }
void openssl_free::operator()(ECDSA_SIG* sig) const noexcept { ECDSA_SIG_free(sig); }
void openssl_free::operator()(BIGNUM* bn) const noexcept { BN_free(bn); }

}  // namespace switchboard::auth
