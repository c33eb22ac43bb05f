// CURVE keys (ZeroMQ's CurveZMQ: Curve25519 key exchange, XSalsa20-Poly1305
// boxes) and their files. Keys travel and are stored as Z85 text: 40
// characters for 32 bytes. Trust model and file formats: docs/SECURITY.md.
//
//   NAME.key  the secret key, one Z85 line, mode 0600 (refused if group or
//             others may read it); the public key is derived from it
//   NAME.pub  the public key, one Z85 line: give it to the peers that must
//             accept this node (a worker's --authorized, a cluster spec's
//             device "public_key")
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace coinfer::net {

inline constexpr size_t kZ85KeyChars = 40;

struct Keypair {
  std::string public_key;  // Z85
  std::string secret_key;  // Z85
};

// A fresh keypair from the system's random source.
Result<Keypair> generate_keypair();
// The keypair of a Z85 secret key (the public key is derived from it).
Result<Keypair> keypair_from_secret(std::string_view secret_z85);
// A keypair generated once per process: the identity of a coordinator that
// runs inside the same process as its workers (LocalCluster, tests).
const Keypair& process_keypair();

// Ok if `z85` is a 40-character Z85 key; else one line naming `what`.
Status check_key(std::string_view what, std::string_view z85);

// Writes NAME.key (mode 0600, refusing to overwrite) and NAME.pub.
Status write_keypair(const std::string& name, const Keypair& k);
// NAME.key: refused if group or others may read it.
Result<Keypair> read_secret_key(const std::string& path);
// A .pub file (one Z85 line; blank lines and lines starting with '#' are skipped).
Result<std::string> read_public_key(const std::string& path);

// How a node authenticates: CURVE with its own keypair (the default), or
// nothing at all when `insecure` (ZeroMQ's NULL mechanism: no authentication,
// no encryption) was asked for explicitly.
struct Security {
  bool insecure = false;
  Keypair own;
  std::vector<std::string> authorized;  // public keys allowed to connect to this node
};

// The stderr warning an insecure node prints at start and puts in reports.
std::string insecure_warning(std::string_view who);

}  // namespace coinfer::net
