#include "testbed/state.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace coinfer::testbed {
namespace {

namespace fs = std::filesystem;
using ojson = nlohmann::ordered_json;

constexpr size_t kMaxStateBytes = 16u << 20;

Result<std::string> read_text(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return errorf("testbed state '{}': cannot read", path);
  std::ostringstream ss;
  ss << f.rdbuf();
  std::string s = ss.str();
  if (s.size() > kMaxStateBytes) return errorf("testbed state '{}': larger than 16 MiB", path);
  return s;
}

std::vector<std::string> strings_of(const ojson& j, const char* key, Status& st,
                                    const std::string& what) {
  std::vector<std::string> out;
  if (!j.contains(key)) return out;
  if (!j[key].is_array()) {
    st = errorf("testbed state '{}': {}: must be an array of strings", what, key);
    return out;
  }
  for (const auto& v : j[key]) {
    if (!v.is_string()) {
      st = errorf("testbed state '{}': {}: must be an array of strings", what, key);
      return {};
    }
    out.push_back(v.get<std::string>());
  }
  return out;
}

}  // namespace

std::string default_state_path(const std::string& cluster_name) {
  std::string n;
  for (char c : cluster_name)
    n +=
        (std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-') ? c : '_';
  if (n.empty()) n = "cluster";
  return "/tmp/coinfer-cluster-" + n + ".json";
}

std::string state_to_json(const State& s) {
  ojson j;
  j["coinfer_testbed"] = kStateVersion;
  j["cluster"] = s.cluster;
  j["dir"] = s.dir;
  j["effective_spec_path"] = s.effective_spec_path;
  j["emulated"] = s.emulated;
  j["compute"] = s.compute;
  j["processes"] = ojson::array();
  for (const ProcessRecord& p : s.processes)
    j["processes"].push_back({{"role", p.role},
                              {"device", p.device},
                              {"pid", int64_t(p.pid)},
                              {"exe", p.exe},
                              {"endpoint", p.endpoint},
                              {"log", p.log}});
  j["netns"] = s.netns;
  j["links"] = s.links;
  j["qdiscs"] = s.qdiscs;
  j["cgroups"] = s.cgroups;
  j["own_cgroup_mount"] = s.own_cgroup_mount;
  j["notes"] = s.notes;
  ojson eff = ojson::parse(s.effective_spec, nullptr, false);
  j["effective"] = eff.is_discarded() ? ojson(nullptr) : eff;
  return j.dump(2) + "\n";
}

Result<State> parse_state(const std::string& text, const std::string& what) {
  ojson j = ojson::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return errorf("testbed state '{}': not a JSON object", what);
  if (!j.contains("coinfer_testbed") || j["coinfer_testbed"] != kStateVersion)
    return errorf("testbed state '{}': coinfer_testbed: must be {}", what, kStateVersion);
  State s;
  s.path = what;
  try {
    s.cluster = j.value("cluster", "");
    s.dir = j.value("dir", "");
    s.effective_spec_path = j.value("effective_spec_path", "");
    s.emulated = j.value("emulated", false);
    s.compute = j.value("compute", "");
    s.own_cgroup_mount = j.value("own_cgroup_mount", "");
    if (j.contains("processes")) {
      if (!j["processes"].is_array())
        return errorf("testbed state '{}': processes: must be an array", what);
      for (const auto& p : j["processes"]) {
        ProcessRecord r;
        r.role = p.value("role", "");
        r.device = p.value("device", "");
        int64_t pid = p.value("pid", int64_t(0));
        if (pid <= 0 || pid > (1 << 22))
          return errorf("testbed state '{}': processes: pid={}: must be in 1..4194304", what, pid);
        r.pid = pid_t(pid);
        r.exe = p.value("exe", "");
        r.endpoint = p.value("endpoint", "");
        r.log = p.value("log", "");
        s.processes.push_back(std::move(r));
      }
    }
    if (j.contains("effective") && j["effective"].is_object())
      s.effective_spec = j["effective"].dump(2) + "\n";
  } catch (const nlohmann::json::exception& e) {
    return errorf("testbed state '{}': {}", what, e.what());
  }
  Status st;
  s.netns = strings_of(j, "netns", st, what);
  s.links = strings_of(j, "links", st, what);
  s.qdiscs = strings_of(j, "qdiscs", st, what);
  s.cgroups = strings_of(j, "cgroups", st, what);
  s.notes = strings_of(j, "notes", st, what);
  RETURN_IF_ERROR(st);
  return s;
}

Status save_state(const State& s) {
  const std::string tmp = s.path + ".tmp";
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    if (!f) return errorf("testbed state '{}': cannot write", tmp);
    f << state_to_json(s);
    if (!f.flush()) return errorf("testbed state '{}': write failed", tmp);
  }
  std::error_code ec;
  fs::rename(tmp, s.path, ec);
  if (ec) return errorf("testbed state '{}': rename: {}", s.path, ec.message());
  return ok_status();
}

Result<State> load_state(const std::string& path) {
  ASSIGN_OR_RETURN(std::string text, read_text(path));
  return parse_state(text, path);
}

std::vector<std::string> find_state_files() {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator("/tmp", ec)) {
    const std::string name = e.path().filename().string();
    if (name.rfind("coinfer-cluster-", 0) != 0 || e.path().extension() != ".json") continue;
    if (load_state(e.path().string()).ok()) out.push_back(e.path().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace coinfer::testbed
