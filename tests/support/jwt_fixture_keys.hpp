#pragma once
// The public keys and the HMAC secret of the JWT fixtures signed with the
// openssl command line (the commands are in tests/unit/jwt_verifier_test.cpp),
// shared by that test and the token fuzz target, whose seed tokens they
// verify.

#include <string>

namespace switchboard::testing {

inline const std::string cli_secret = "cli-fixture-secret-of-at-least-32-bytes!";
inline const std::string cli_rsa_pem =
    "-----BEGIN PUBLIC KEY-----\n"
    "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAmYcxfm77b9+r9eERx2fQ\n"
    "J5ZFDwjcLiMn7u9Ip0RQMWQzAqfGhvXhGyh2kCvtqxwZjp2HHfCqf9pJLzTbP71g\n"
    "WDShQAgG9a9m9Lnk6f2vFWAs/EI4bdpU5EdI3lJzqEAkFUeaskP5bXMetNs3FGFL\n"
    "x5Iy0MWGTeCpvfFMqA6GWZgUuxhjHoZ9xu8+sc7FhgSAhgN9UP3VOWV1jEMIoWLd\n"
    "UMx+GZCbNXKVLxXkgfH8Qcrv3BxJlEc6r72CYkKNJPP5yFHLiak/DIVuqaLzVFnD\n"
    "4/ki+oW8TAHzXZx3Q64VIaRAcCotHbzghSXlPU2Q6Pvp+J3jAi4KGGjyAOhS295l\n"
    "lQIDAQAB\n"
    "-----END PUBLIC KEY-----\n";
inline const std::string cli_ec_pem =
    "-----BEGIN PUBLIC KEY-----\n"
    "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEV9dUgvN8BRSoo98qiKDU/facF+Uy\n"
    "UIP22ATgAfSbe2cheCd/kL7luh84E9KsVFEKIE4Rfk9L63OjCkSNlv40RQ==\n"
    "-----END PUBLIC KEY-----\n";
}  // namespace switchboard::testing
