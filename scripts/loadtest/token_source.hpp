#pragma once
// What the connections present to a server that checks JWTs: nothing, one
// fixed token (--token), or tokens minted here (--token-secret, --token-key)
// with a subject per connection and every grant the scenarios need. Made
// before the load processes fork; each process mints its own.

#include <cstdint>
#include <optional>
#include <string>

#include "common/auth/token_signer.hpp"
#include "scripts/loadtest/options.hpp"

namespace switchboard::load {

class token_source {
 public:
  // No token at all.
  token_source() = default;
  static token_source fixed(std::string token);
  static token_source minted(auth::token_signer signer, std::int64_t ttl_seconds);

  bool presents() const { return !fixed_.empty() || signer_.has_value(); }
  bool mints() const { return signer_.has_value(); }

  // The token for connection `n` of load process `process`: the fixed one,
  // or one signed now for sub "load-<process>-<n>" that expires --token-ttl
  // seconds from now (empty when there are none). Signing costs CPU (about
  // a quarter of a millisecond for RS256 here), so callers do it outside
  // what they time.
  std::string token_for(int process, std::uint64_t n) const;

  // For the start line: "none", "fixed token", "HS256 tokens minted here, ttl 3600 s".
  std::string describe() const;

 private:
  std::string fixed_;
  std::optional<auth::token_signer> signer_;
  std::int64_t ttl_ = 0;
};

// The source the options ask for; reads --token-key's file. Throws
// std::runtime_error naming the flag: an unreadable file, a key or secret
// no verifier would accept.
token_source make_token_source(const options& o);

}  // namespace switchboard::load
