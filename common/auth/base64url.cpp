#include "common/auth/base64url.hpp"

#include <climits>
#include <cstddef>

#include <openssl/evp.h>

namespace switchboard::auth {
namespace {

// The 6-bit value of a base64url character, or -1.
int sextet(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '-') return 62;
  if (c == '_') return 63;
  return -1;
}

}  // namespace

std::optional<std::string> base64url_decode(std::string_view text) {
  // EVP_DecodeBlock takes an int length; tokens are far below this anyway.
  if (text.size() > INT_MAX / 2) return std::nullopt;
  std::size_t tail = text.size() % 4;
  if (tail == 1) return std::nullopt;
  for (char c : text) {
    if (sextet(c) < 0) return std::nullopt;
  }
  // The last character of a 2- or 3-character tail carries 4 or 2 bits that
  // encode nothing; a canonical encoder leaves them zero.
  if (tail == 2 && (sextet(text.back()) & 0x0f) != 0) return std::nullopt;
  if (tail == 3 && (sextet(text.back()) & 0x03) != 0) return std::nullopt;

  std::size_t padding = tail == 0 ? 0 : 4 - tail;
  std::string standard(text);
  for (char& c : standard) {
    if (c == '-') c = '+';
    else if (c == '_') c = '/';
  }
  standard.append(padding, '=');

  std::string bytes(standard.size() / 4 * 3, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(bytes.data()),
                          reinterpret_cast<const unsigned char*>(standard.data()), static_cast<int>(standard.size()));
  if (n < 0) return std::nullopt;
  // EVP_DecodeBlock counts the padding as zero bytes of output.
  bytes.resize(static_cast<std::size_t>(n) - padding);
  return bytes;
}

std::string base64url_encode(std::string_view bytes) {
  std::string text((bytes.size() + 2) / 3 * 4 + 1, '\0');  // +1: EVP_EncodeBlock writes a NUL
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(text.data()),
                          reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size()));
  text.resize(static_cast<std::size_t>(n));
  while (!text.empty() && text.back() == '=') text.pop_back();
  for (char& c : text) {
    if (c == '+') c = '-';
    else if (c == '/') c = '_';
  }
  return text;
}

}  // namespace switchboard::auth
