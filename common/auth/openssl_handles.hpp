#pragma once
// Owning pointers for the OpenSSL objects the signer and the verifier use.
// Only <openssl/types.h> here: the frees are defined in the .cpp, so a
// header holding a key need not pull in all of OpenSSL.

#include <memory>

#include <openssl/types.h>

// <openssl/ec.h>'s own declaration, which <openssl/types.h> lacks.
typedef struct ECDSA_SIG_st ECDSA_SIG;

namespace switchboard::auth {

struct openssl_free {
  void operator()(EVP_PKEY* key) const noexcept;
  void operator()(BIO* bio) const noexcept;
  void operator()(EVP_MD_CTX* ctx) const noexcept;
  void operator()(ECDSA_SIG* sig) const noexcept;
  void operator()(BIGNUM* bn) const noexcept;
};

using pkey_ptr = std::unique_ptr<EVP_PKEY, openssl_free>;
using bio_ptr = std::unique_ptr<BIO, openssl_free>;
using md_ctx_ptr = std::unique_ptr<EVP_MD_CTX, openssl_free>;
using ecdsa_sig_ptr = std::unique_ptr<ECDSA_SIG, openssl_free>;
using bignum_ptr = std::unique_ptr<BIGNUM, openssl_free>;

}  // namespace switchboard::auth
