// libFuzzer target: the plan file parser (plan::parse).
// Property: never crashes; a plan that parses survives to_json -> parse unchanged.
#include "plan/plan.h"

using namespace coinfer;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Result<plan::Plan> p =
      plan::parse(std::string(reinterpret_cast<const char*>(data), size), "fuzz");
  if (!p.ok()) return 0;
  Result<plan::Plan> again = plan::parse(plan::to_json(*p), "again");
  if (!again.ok() || !(*again == *p)) __builtin_trap();
  return 0;
}
