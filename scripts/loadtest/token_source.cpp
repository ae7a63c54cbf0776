#include "scripts/loadtest/token_source.hpp"

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <utility>

#include <nlohmann/json.hpp>

namespace switchboard::load {
namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("--token-key: cannot read " + path + ": " + std::strerror(errno));
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

token_source token_source::fixed(std::string token) {
  token_source s;
  s.fixed_ = std::move(token);
  return s;
}

token_source token_source::minted(auth::token_signer signer, std::int64_t ttl_seconds) {
  token_source s;
  s.signer_.emplace(std::move(signer));
  s.ttl_ = ttl_seconds;
  return s;
}

std::string token_source::token_for(int process, std::uint64_t n) const {
  if (!signer_) return fixed_;
  const std::int64_t now =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  // Every grant a scenario uses: rooms joins (and presence), publish sends
  // room messages without membership, broadcast is fanout's; direct is
  // allowed unless a token says otherwise.
  const nlohmann::json claims = {
      {"sub", "load-" + std::to_string(process) + "-" + std::to_string(n)},
      {"exp", now + ttl_},
      {"rooms", nlohmann::json::array({"*"})},
      {"publish", nlohmann::json::array({"*"})},
      {"broadcast", true},
  };
  return signer_->sign(claims.dump());
}

std::string token_source::describe() const {
  if (signer_) {
    return std::string(auth::to_string(signer_->alg())) + " tokens minted here, ttl " + std::to_string(ttl_) +
           " s";
  }
  return fixed_.empty() ? "none" : "fixed token";
}

token_source make_token_source(const options& o) {
  try {
    if (!o.token.empty()) return token_source::fixed(o.token);
    if (!o.token_secret.empty()) return token_source::minted(auth::token_signer::hs256(o.token_secret), o.token_ttl);
    if (!o.token_key_file.empty()) {
      const std::string pem = read_file(o.token_key_file);
      return token_source::minted(auth::token_signer::from_private_key_pem(pem), o.token_ttl);
    }
  } catch (const std::invalid_argument& e) {
    throw std::runtime_error(std::string(o.token_secret.empty() ? "--token-key " + o.token_key_file : "--token-secret") +
                             ": " + e.what());
  }
  return {};
}

}  // namespace switchboard::load
