// libFuzzer target: the cluster spec parser (cluster::parse).
// Property: never crashes; a spec that parses survives to_json -> parse unchanged.
#include "cluster/cluster.h"

using namespace coinfer;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Result<cluster::ClusterSpec> c =
      cluster::parse(std::string(reinterpret_cast<const char*>(data), size), "fuzz");
  if (!c.ok()) return 0;
  Result<cluster::ClusterSpec> again = cluster::parse(cluster::to_json(*c), "again");
  if (!again.ok() || !(*again == *c)) __builtin_trap();
  return 0;
}
