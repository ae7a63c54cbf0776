#include "common/auth/refusal.hpp"

namespace switchboard::auth {

std::string_view to_string(refusal reason) {
  switch (reason) {
    case refusal::missing: return "missing";
    case refusal::too_large: return "too_large";
    case refusal::malformed: return "malformed";
    case refusal::bad_signature: return "bad_signature";
    case refusal::unsupported_alg: return "unsupported_alg";
    case refusal::expired: return "expired";
    case refusal::not_yet_valid: return "not_yet_valid";
    case refusal::bad_issuer: return "bad_issuer";
    case refusal::bad_audience: return "bad_audience";
    case refusal::bad_subject: return "bad_subject";
  }
  return "unknown";
}

}  // namespace switchboard::auth
