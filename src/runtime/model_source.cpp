#include "runtime/model_source.h"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "onnx/importer.h"
#include "runtime/sha256.h"
#include "zoo/zoo.h"

namespace coinfer::runtime {

namespace fs = std::filesystem;

std::string default_cache_dir() {
  if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x) return std::string(x) + "/coinfer";
  if (const char* h = std::getenv("HOME"); h && *h) return std::string(h) + "/.cache/coinfer";
  return "/tmp/coinfer-cache";
}

std::string cache_path(const std::string& cache_dir, const std::string& hash) {
  return cache_dir + "/" + hash + ".onnx";
}

Result<std::optional<LocalModel>> load_local(const std::string& spec, const std::string& hash,
                                             const std::string& cache_dir) {
  using Opt = std::optional<LocalModel>;
  if (spec.rfind("zoo:", 0) == 0) {
    ASSIGN_OR_RETURN(graph::Graph g, zoo::build(spec.substr(4)));
    return Opt(LocalModel{std::move(g), "zoo"});
  }
  if (!is_sha256_hex(hash))
    return errorf("model '{}': model_hash '{}': must be 64 lowercase hex digits (sha256)", spec,
                  hash.substr(0, 80));
  std::error_code ec;
  if (!spec.empty() && fs::is_regular_file(spec, ec)) {
    auto h = sha256_file(spec);
    if (h.ok() && *h == hash) {
      ASSIGN_OR_RETURN(graph::Graph g, onnx_io::load_onnx(spec));
      return Opt(LocalModel{std::move(g), "local file"});
    }
  }
  std::string cached = cache_path(cache_dir, hash);
  if (fs::is_regular_file(cached, ec)) {
    auto h = sha256_file(cached);
    if (h.ok() && *h == hash) {
      ASSIGN_OR_RETURN(graph::Graph g, onnx_io::load_onnx(cached));
      g.name = fs::path(spec).stem().string();  // as the coordinator names it
      return Opt(LocalModel{std::move(g), "cache"});
    }
    fs::remove(cached, ec);  // corrupt: fetch it again
  }
  return Opt();
}

Status bytes_match(const std::vector<uint8_t>& bytes, const std::string& hash) {
  std::string got = sha256_hex(bytes.data(), bytes.size());
  if (got != hash) return errorf("{} bytes hash to {}: expected {}", bytes.size(), got, hash);
  return ok_status();
}

Result<graph::Graph> load_fetched(const std::string& spec, const std::vector<uint8_t>& bytes,
                                  const std::string& hash, const std::string& cache_dir,
                                  std::string* warning) {
  std::error_code ec;
  fs::create_directories(cache_dir, ec);
  std::string final_path = cache_path(cache_dir, hash);
  std::string tmp = final_path + ".tmp." + std::to_string(::getpid());
  FILE* f = std::fopen(tmp.c_str(), "wb");
  bool stored = false;
  if (f) {
    bool ok = std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size();
    ok = std::fclose(f) == 0 && ok;
    if (ok) {
      fs::rename(tmp, final_path, ec);
      stored = !ec;
    }
    if (!stored) fs::remove(tmp, ec);
  }
  if (!stored && warning)
    *warning = fmt::format("cannot store the weights in {}: {}", final_path,
                           ec ? ec.message() : std::string(std::strerror(errno)));
  ASSIGN_OR_RETURN(graph::Graph g,
                   onnx_io::parse_onnx(std::string(bytes.begin(), bytes.end()), final_path));
  g.name = fs::path(spec).stem().string();
  return g;
}

}  // namespace coinfer::runtime
