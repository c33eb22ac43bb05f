// Routing of a deployed plan: what the coordinator ships in Deploy.plan_json,
// and, for every (stage, part), which rows it needs, who supplies them and to
// whom it sends its output rows. Worker and coordinator derive the routes
// from the same plan with the same code, so they agree on every band.
//
// Deploy.plan_json carries a DeploySpec as JSON:
//   {"plan": {...plan file...},
//    "endpoints": {"w0": "tcp://10.0.0.2:5556", ...},   // band input of every plan device
//    "results": "tcp://10.0.0.1:41234",               // the coordinator's results PULL
//    "keys": {"w0": "<Z85 public key>", ...},          // CURVE key of every plan device
//    "results_key": "<Z85 public key>"}                // the coordinator's (keys: secure only)
//
// Bands: the input of stage s (the output value of block first_block-1, or
// the graph input for the first stage of a pipeline) travels as
// Band{stage = s, part = k}, where k is the sender's part index in stage s-1
// (0 for the coordinator feeding a first stage). Each Band holds exactly the
// overlap of the sender's output rows with the rows the receiver needs. A
// pipeline's last stage sends its outputs as Result{stage = s, part = its own
// index} to the coordinator. Stage numbers run over all the plan's stages, so
// with interleaved pipelines a band's stage also says which pipeline it is in.
#pragma once

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "graph/blocks.h"
#include "plan/plan.h"

namespace coinfer::runtime {

// A worker listening for control on tcp://HOST:PORT takes bands on
// tcp://HOST:PORT+1 (ipc://P -> ipc://P.bands, inproc://N -> inproc://N.bands).
Result<std::string> band_endpoint_for(const std::string& control_endpoint);

struct DeploySpec {
  plan::Plan plan;
  std::map<std::string, std::string> endpoints;  // device -> band input endpoint
  std::string results;                            // coordinator's results endpoint
  // CURVE public keys (empty when the coordinator runs --insecure): every
  // device's, which its peers authenticate it by and accept its bands with,
  // and the coordinator's, which the last stage authenticates the results
  // socket by.
  std::map<std::string, std::string> keys;
  std::string results_key;
};

std::string to_json(const DeploySpec& d);
// Strict: unknown keys, wrong types and malformed endpoints are one-line errors.
Result<DeploySpec> parse_deploy_spec(const std::string& json_text);

// Rows exchanged with a neighbour part: `part` is the neighbour's index in the
// previous stage (inputs; 0 = the coordinator for stage 0) or in the next
// stage (outputs; 0 = the coordinator after the last stage).
struct Supply {
  int part = 0;
  Rows rows;
};

struct PartRoute {
  int stage = 0, part = 0;
  std::string device;
  int first_block = 0, last_block = 0;  // blocks [first, last)
  Rows out;         // rows of the stage output this part produces
  Rows in;          // rows of the stage input it needs (halo included)
  Shape in_shape;   // full shape of the stage input value
  Shape out_shape;  // full shape of the stage output value
  std::vector<Supply> inputs;   // who sends which rows, sorted by part
  std::vector<Supply> outputs;  // where its rows go, sorted by part
  std::string name;             // "s0 blocks 0-5 rows 0-28", as the simulator names tasks
};

struct Routes {
  std::vector<std::vector<PartRoute>> stages;
  // Stage index range of each interleaved pipeline (plan::pipeline_spans);
  // frame f runs pipeline f % pipelines.size().
  std::vector<Rows> pipelines;
  bool is_first(int stage) const;  // first stage of its pipeline: fed by the coordinator
  bool is_last(int stage) const;   // last stage of its pipeline: sends Results
  Rows pipeline_of_frame(uint64_t f) const { return pipelines[size_t(f % pipelines.size())]; }
  int find(int stage, const std::string& device) const;  // part index, or -1
  const PartRoute& at(int stage, int part) const { return stages[size_t(stage)][size_t(part)]; }
};

// Fails (one line naming stage and part) on anything the runtime cannot run:
// block ranges that do not chain from 0 to the last block, empty or
// out-of-range rows, column ranges (the executor splits rows only), a device
// used twice in a stage. Full validation is plan::validate; this is the part
// a worker must check before trusting the routes.
Result<Routes> make_routes(const plan::Plan& p, const graph::Graph& g,
                           const std::vector<graph::Block>& blocks);

inline Rows intersect(Rows a, Rows b) { return {std::max(a.lo, b.lo), std::min(a.hi, b.hi)}; }

}  // namespace coinfer::runtime
