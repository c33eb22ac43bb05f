// libFuzzer target: the DeploySpec a worker parses from Deploy.plan_json
// (runtime::parse_deploy_spec), the JSON that arrives over the network.
// Property: never crashes; a spec that parses survives to_json -> parse unchanged.
#include "runtime/routing.h"

using namespace coinfer;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Result<runtime::DeploySpec> d =
      runtime::parse_deploy_spec(std::string(reinterpret_cast<const char*>(data), size));
  if (!d.ok()) return 0;
  Result<runtime::DeploySpec> again = runtime::parse_deploy_spec(runtime::to_json(*d));
  if (!again.ok() || !(again->plan == d->plan) || again->endpoints != d->endpoints ||
      again->results != d->results || again->keys != d->keys ||
      again->results_key != d->results_key)
    __builtin_trap();
  return 0;
}
