#include "scripts/loadtest/peer.hpp"

namespace switchboard::load {

bool receive_role::accepts(const stamp& s) const {
  switch (k) {
    case kind::none: return false;
    case kind::any: return true;
    case kind::sender: return s.p == value;
    case kind::room: return s.r == value;
  }
  return false;
}

void peer::expect(receive_role r, std::size_t senders) {
  role = r;
  last_seq.assign(r.k == receive_role::kind::none ? 0 : r.k == receive_role::kind::sender ? 1 : senders, 0);
}

}  // namespace switchboard::load
