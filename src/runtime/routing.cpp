#include "runtime/routing.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "net/transport.h"

namespace coinfer::runtime {

namespace {

using nlohmann::json;

std::string rows_str(Rows r) { return fmt::format("[{},{})", r.lo, r.hi); }

}  // namespace

Result<std::string> band_endpoint_for(const std::string& control_endpoint) {
  ASSIGN_OR_RETURN(net::Endpoint ep, net::parse_endpoint(control_endpoint));
  switch (ep.kind) {
    case net::Endpoint::Kind::Tcp:
      if (ep.port == 0)
        return errorf("endpoint '{}': the port must be explicit (bands use PORT+1)",
                      control_endpoint);
      if (ep.port >= 65535)
        return errorf("endpoint '{}': port {}: must be < 65535 (bands use PORT+1)",
                      control_endpoint, ep.port);
      ep.port += 1;
      return ep.str();
    case net::Endpoint::Kind::Ipc:
    case net::Endpoint::Kind::Inproc:
      ep.path += ".bands";
      return ep.str();
  }
  return errorf("endpoint '{}': unsupported transport", control_endpoint);
}

std::string to_json(const DeploySpec& d) {
  json j;
  j["plan"] = json::parse(plan::to_json(d.plan));
  j["endpoints"] = json::object();
  for (const auto& [dev, ep] : d.endpoints) j["endpoints"][dev] = ep;
  j["results"] = d.results;
  if (!d.keys.empty()) {
    j["keys"] = json::object();
    for (const auto& [dev, key] : d.keys) j["keys"][dev] = key;
    j["results_key"] = d.results_key;
  }
  return j.dump();
}

Result<DeploySpec> parse_deploy_spec(const std::string& json_text) {
  json j = json::parse(json_text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return errorf("deploy spec: invalid JSON");
  if (!j.is_object()) return errorf("deploy spec: must be a JSON object");
  for (const auto& [k, v] : j.items())
    if (k != "plan" && k != "endpoints" && k != "results" && k != "keys" && k != "results_key")
      return errorf(
          "deploy spec: unknown key '{}' (expected plan, endpoints, results, keys, "
          "results_key)",
          k.substr(0, 40));
  if (!j.contains("plan") || !j.contains("endpoints") || !j.contains("results"))
    return errorf("deploy spec: needs the keys plan, endpoints and results");
  DeploySpec d;
  ASSIGN_OR_RETURN(d.plan, plan::parse(j["plan"].dump(), "deploy spec"));
  const json& eps = j["endpoints"];
  if (!eps.is_object()) return errorf("deploy spec: endpoints: must be an object");
  for (const auto& [dev, ep] : eps.items()) {
    if (!ep.is_string()) return errorf("deploy spec: endpoints.{}: must be a string", dev);
    std::string text = ep.get<std::string>();
    auto parsed = net::parse_endpoint(text);
    if (!parsed.ok()) return errorf("deploy spec: endpoints.{}: {}", dev, parsed.error());
    d.endpoints[dev] = text;
  }
  if (!j["results"].is_string()) return errorf("deploy spec: results: must be a string");
  d.results = j["results"].get<std::string>();
  auto parsed = net::parse_endpoint(d.results);
  if (!parsed.ok()) return errorf("deploy spec: results: {}", parsed.error());
  if (j.contains("keys") != j.contains("results_key"))
    return errorf("deploy spec: keys and results_key go together");
  if (j.contains("keys")) {
    if (!j["keys"].is_object()) return errorf("deploy spec: keys: must be an object");
    for (const auto& [dev, key] : j["keys"].items()) {
      const std::string what = fmt::format("deploy spec: keys.{}", dev.substr(0, 40));
      if (!d.endpoints.count(dev)) return errorf("{}: no such device in endpoints", what);
      if (!key.is_string()) return errorf("{}: must be a string", what);
      RETURN_IF_ERROR(net::check_key(what, key.get<std::string>()));
      d.keys[dev] = key.get<std::string>();
    }
    if (d.keys.size() != d.endpoints.size())
      return errorf("deploy spec: keys: {} keys for {} devices: every device needs one",
                    d.keys.size(), d.endpoints.size());
    if (!j["results_key"].is_string()) return errorf("deploy spec: results_key: must be a string");
    d.results_key = j["results_key"].get<std::string>();
    RETURN_IF_ERROR(net::check_key("deploy spec: results_key", d.results_key));
  }
  return d;
}

bool Routes::is_first(int stage) const {
  return std::any_of(pipelines.begin(), pipelines.end(), [&](Rows p) { return p.lo == stage; });
}
bool Routes::is_last(int stage) const {
  return std::any_of(pipelines.begin(), pipelines.end(), [&](Rows p) { return p.hi == stage + 1; });
}

int Routes::find(int stage, const std::string& device) const {
  if (stage < 0 || stage >= int(stages.size())) return -1;
  const auto& parts = stages[size_t(stage)];
  for (size_t j = 0; j < parts.size(); ++j)
    if (parts[j].device == device) return int(j);
  return -1;
}

Result<Routes> make_routes(const plan::Plan& p, const graph::Graph& g,
                           const std::vector<graph::Block>& blocks) {
  if (p.stages.empty()) return errorf("plan: has no stages");
  Routes r;
  ASSIGN_OR_RETURN(r.pipelines, plan::pipeline_spans(p));
  int expect = 0;
  for (size_t s = 0; s < p.stages.size(); ++s) {
    const plan::Stage& st = p.stages[s];
    if (r.is_first(int(s))) {
      if (s > 0 && expect != int(blocks.size()))
        return errorf("plan: pipeline {} ends at block {}: must end at {}", st.pipeline - 1, expect,
                      blocks.size());
      expect = 0;
    }
    if (st.first_block != expect || st.last_block <= st.first_block ||
        st.last_block > int(blocks.size()))
      return errorf("plan stage {}: blocks [{},{}): must start at block {} and end within {}", s,
                    st.first_block, st.last_block, expect, blocks.size());
    expect = st.last_block;
    if (st.parts.empty()) return errorf("plan stage {}: has no parts", s);
    const Shape& in = g.nodes[size_t(blocks[size_t(st.first_block)].input)].out;
    const Shape& out = g.nodes[size_t(blocks[size_t(st.last_block - 1)].last)].out;
    std::vector<PartRoute> parts;
    for (size_t k = 0; k < st.parts.size(); ++k) {
      const plan::Assignment& a = st.parts[k];
      if (!a.all_cols() && !(a.cols == Rows{0, out.w}))
        return errorf(
            "plan stage {} part {} (device '{}'): cols {}: the runtime splits rows only "
            "(column tiling is simulated, not executed)",
            s, k, a.device, rows_str(a.cols));
      for (size_t q = 0; q < k; ++q)
        if (st.parts[q].device == a.device)
          return errorf("plan stage {}: device '{}' is used by parts {} and {}", s, a.device, q, k);
      auto geo = graph::band_geometry(g, blocks, st.first_block, st.last_block, a.rows);
      if (!geo.ok()) return errorf("plan stage {} part {} (device '{}'): {}", s, k, a.device, geo.error());
      PartRoute pr;
      pr.stage = int(s);
      pr.part = int(k);
      pr.device = a.device;
      pr.first_block = st.first_block;
      pr.last_block = st.last_block;
      pr.out = a.rows;
      pr.in = geo->input;
      pr.in_shape = in;
      pr.out_shape = out;
      pr.name = fmt::format("s{} blocks {}-{} rows {}-{}", s, st.first_block, st.last_block,
                            a.rows.lo, a.rows.hi);
      parts.push_back(std::move(pr));
    }
    // Each stage's rows must tile its output, or some band would never arrive.
    std::vector<Rows> sorted;
    for (const PartRoute& pr : parts) sorted.push_back(pr.out);
    std::sort(sorted.begin(), sorted.end(), [](Rows x, Rows y) { return x.lo < y.lo; });
    int at = 0;
    for (Rows x : sorted) {
      if (x.lo != at)
        return errorf("plan stage {}: rows {} of the output [0,{}) are {}", s,
                      rows_str({std::min(at, x.lo), std::max(at, x.lo)}), out.h,
                      x.lo > at ? "not assigned" : "assigned twice");
      at = x.hi;
    }
    if (at != out.h)
      return errorf("plan stage {}: rows {} of the output [0,{}) are not assigned", s,
                    rows_str({at, out.h}), out.h);
    r.stages.push_back(std::move(parts));
  }
  if (expect != int(blocks.size()))
    return errorf("plan: the last stage ends at block {}: must end at {}", expect, blocks.size());
  // Links between consecutive stages of a pipeline.
  for (size_t s = 0; s < r.stages.size(); ++s) {
    for (PartRoute& pr : r.stages[s]) {
      if (r.is_first(int(s))) {
        pr.inputs.push_back({0, pr.in});
      } else {
        for (const PartRoute& prev : r.stages[s - 1]) {
          Rows x = intersect(prev.out, pr.in);
          if (!x.empty()) pr.inputs.push_back({prev.part, x});
        }
      }
      if (r.is_last(int(s))) {
        pr.outputs.push_back({0, pr.out});
      } else {
        for (const PartRoute& next : r.stages[s + 1]) {
          Rows x = intersect(pr.out, next.in);
          if (!x.empty()) pr.outputs.push_back({next.part, x});
        }
      }
    }
  }
  return r;
}

}  // namespace coinfer::runtime
