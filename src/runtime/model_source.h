// Where a worker gets the model a Deploy names, without trusting anything:
//   "zoo:NAME"  built locally (deterministic weights; no hash, no transfer);
//   a path      used if the file exists locally AND its sha256 equals the
//               Deploy's model_hash; else <cache_dir>/<hash>.onnx if present
//               and its content hashes to <hash>; else the bytes must come
//               from the coordinator (WeightsRequest -> Weights), are checked
//               against the hash and stored in the cache (written to a
//               temporary file, then renamed), so the next start finds them.
// A model from the cache is named after the stem of `spec`, like the file.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "graph/graph.h"

namespace coinfer::runtime {

// $XDG_CACHE_HOME/coinfer, else $HOME/.cache/coinfer, else /tmp/coinfer-cache.
std::string default_cache_dir();
std::string cache_path(const std::string& cache_dir, const std::string& hash);

struct LocalModel {
  graph::Graph graph;
  std::string source;  // "zoo", "local file", "cache": for the log
};

// The model from local sources; empty when it must be fetched. An error for
// a malformed request (a file model without a sha256 hash) or a file that
// hashes right but does not import.
Result<std::optional<LocalModel>> load_local(const std::string& spec, const std::string& hash,
                                             const std::string& cache_dir);

// Checks fetched bytes against their sha256; an error says what they hash to.
Status bytes_match(const std::vector<uint8_t>& bytes, const std::string& hash);

// Stores fetched bytes, which the caller checked against `hash`
// (bytes_match), in the cache (a failure to store is returned in *warning,
// not as an error) and imports them. The graph
// is named after the stem of `spec`, as a local load would name it.
Result<graph::Graph> load_fetched(const std::string& spec, const std::vector<uint8_t>& bytes,
                                  const std::string& hash, const std::string& cache_dir,
                                  std::string* warning);

}  // namespace coinfer::runtime
