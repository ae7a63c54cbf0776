#include "server/net/admission.hpp"

#include <boost/url/parse.hpp>
#include <vector>

#include "common/text_list.hpp"

namespace switchboard {
namespace {

// The header's token wins over the URL's; nullopt when neither has one.
std::optional<std::string> token_of(const http::request<http::string_body>& req) {
  auto header = req[http::field::authorization];
  constexpr std::string_view scheme = "bearer ";
  if (header.size() > scheme.size()) {
    std::string prefix(header.substr(0, scheme.size()));
    for (char& c : prefix) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (prefix == scheme) return std::string(header.substr(scheme.size()));
  }
  auto target = boost::urls::parse_origin_form(req.target());
  if (!target) return std::nullopt;
  for (auto param : target->params())
    if (param.key == "token" && param.has_value) return std::string(param.value);
  return std::nullopt;
}

// 2200-01-01: system_clock counts nanoseconds in 64 bits, up to 2262.
constexpr std::int64_t far_future = 7'258'118'400;

}  // namespace

admission::admission(const config& cfg) {
  if (cfg.auth_enabled()) verifier_.emplace(verifier_settings(cfg));
  auto origins = split_list(cfg.allowed_origins);
  any_origin_ = origins.empty();
  origins_ = auth::pattern_set(origins);
}

std::variant<identity, turned_away> admission::admit(const http::request<http::string_body>& req,
                                                     std::int64_t now_seconds) {
  auto origin = req.find(http::field::origin);
  if (!any_origin_ && origin != req.end() && !origins_.matches(origin->value()))
    return turned_away{http::status::forbidden, "origin not allowed", std::nullopt};
  if (!verifier_) return identity{};
  auto token = token_of(req);
  auto verdict = verify(token ? *token : std::string_view{}, now_seconds);
  if (auto* refused = std::get_if<auth::refusal>(&verdict))
    return turned_away{http::status::unauthorized, "token refused: " + std::string(auth::to_string(*refused)),
                       *refused};
  return std::move(std::get<identity>(verdict));
}

std::variant<identity, auth::refusal> admission::verify(std::string_view token, std::int64_t now_seconds) {
  auto verdict = verifier_->verify(token, now_seconds);
  if (auto* refused = std::get_if<auth::refusal>(&verdict)) return *refused;
  auto& claims = std::get<auth::claims>(verdict);
  identity who{std::move(claims.sub), grants_.share(claims), std::nullopt};
  // The verifier refused a token past this already, so it lies ahead. One
  // beyond the clock's range never comes for a running server.
  if (claims.exp && *claims.exp < far_future - verifier_->leeway_seconds())
    who.deadline = *claims.exp + verifier_->leeway_seconds();
  return who;
}

}  // namespace switchboard
