// coinfer keygen -o NAME
// Writes a CURVE keypair: NAME.key (secret, mode 0600) and NAME.pub (public),
// one Z85 line each (docs/SECURITY.md). Refuses to overwrite either file.
#include <cstdio>

#include "cli/cli.h"
#include "net/keys.h"

namespace coinfer::cli {

void register_keygen(CLI::App& app) {
  auto* cmd = app.add_subcommand("keygen", "Write a CURVE keypair NAME.key (secret) and NAME.pub");
  auto name = std::make_shared<std::string>();
  cmd->add_option("-o,--output", *name, "NAME: writes NAME.key and NAME.pub")->required();
  cmd->callback([name] {
    net::Keypair k = unwrap(net::generate_keypair());
    check(net::write_keypair(*name, k));
    std::printf("wrote %s.key (secret, mode 0600) and %s.pub\npublic key %s\n", name->c_str(),
                name->c_str(), k.public_key.c_str());
  });
}

}  // namespace coinfer::cli
