#include "net/keys.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#include <cerrno>
#include <cstring>
#include <fstream>

namespace coinfer::net {

namespace {

Result<std::string> read_key_line(const std::string& path, std::string_view what) {
  std::ifstream f(path);
  if (!f) return errorf("{} file '{}': cannot read: {}", what, path, std::strerror(errno));
  std::string line;
  while (std::getline(f, line)) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    if (line.empty() || line[0] == '#') continue;
    RETURN_IF_ERROR(check_key(fmt::format("{} file '{}'", what, path), line));
    return line;
  }
  return errorf("{} file '{}': no key in it (expected one line of {} Z85 characters)", what, path,
                kZ85KeyChars);
}

Status write_file(const std::string& path, const std::string& text, mode_t mode) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) return errorf("key file '{}': cannot create: {}", path, std::strerror(errno));
  ssize_t n = ::write(fd, text.data(), text.size());
  bool ok = n == ssize_t(text.size()) && ::fchmod(fd, mode) == 0;
  ok = (::close(fd) == 0) && ok;
  if (!ok) return errorf("key file '{}': cannot write: {}", path, std::strerror(errno));
  return ok_status();
}

}  // namespace

Status check_key(std::string_view what, std::string_view z85) {
  if (z85.size() != kZ85KeyChars)
    return errorf("{}: key of {} characters: a CURVE key is {} Z85 characters", what, z85.size(),
                  kZ85KeyChars);
  std::string s(z85);
  uint8_t bin[32];
  if (zmq_z85_decode(bin, s.c_str()) == nullptr) return errorf("{}: '{}' is not Z85 text", what, s);
  return ok_status();
}

Result<Keypair> generate_keypair() {
  char pub[41], sec[41];
  if (zmq_curve_keypair(pub, sec) != 0)
    return errorf("CURVE keypair: {} (libzmq built without CURVE?)", zmq_strerror(zmq_errno()));
  return Keypair{pub, sec};
}

Result<Keypair> keypair_from_secret(std::string_view secret_z85) {
  RETURN_IF_ERROR(check_key("secret key", secret_z85));
  std::string sec(secret_z85);
  char pub[41];
  if (zmq_curve_public(pub, sec.c_str()) != 0)
    return errorf("secret key: {}", zmq_strerror(zmq_errno()));
  return Keypair{pub, sec};
}

const Keypair& process_keypair() {
  static const Keypair k = [] {
    Result<Keypair> r = generate_keypair();
    return r.ok() ? r.value() : Keypair{};  // empty: every CURVE socket then fails to open
  }();
  return k;
}

Status write_keypair(const std::string& name, const Keypair& k) {
  RETURN_IF_ERROR(write_file(name + ".key", k.secret_key + "\n", 0600));
  return write_file(name + ".pub", k.public_key + "\n", 0644);
}

Result<Keypair> read_secret_key(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    return errorf("secret key file '{}': {}", path, std::strerror(errno));
  if (st.st_mode & (S_IRWXG | S_IRWXO))
    return errorf(
        "secret key file '{}': mode {:04o}: group and others must have no access "
        "(chmod 600 '{}')",
        path, st.st_mode & 07777, path);
  ASSIGN_OR_RETURN(std::string sec, read_key_line(path, "secret key"));
  return keypair_from_secret(sec);
}

Result<std::string> read_public_key(const std::string& path) {
  return read_key_line(path, "public key");
}

std::string insecure_warning(std::string_view who) {
  return fmt::format(
      "WARNING: {} runs --insecure: no authentication and no encryption; anyone who can reach "
      "its ports can deploy and run models and read the data",
      who);
}

}  // namespace coinfer::net
