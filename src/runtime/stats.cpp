#include "runtime/stats.h"

#include <nlohmann/json.hpp>

namespace coinfer::runtime {

using nlohmann::json;

std::string stats_key(uint64_t deployment_id) { return "stats/" + std::to_string(deployment_id); }

std::string to_json(const WorkerStats& s) {
  json tasks = json::array(), arrivals = json::array();
  for (const TaskRecord& t : s.tasks)
    tasks.push_back(json::array({t.frame, t.stage, t.part, t.start_ns, t.end_ns}));
  for (const ArrivalRecord& a : s.arrivals)
    arrivals.push_back(json::array({a.frame, a.stage, a.from_part, a.at_ns, a.bytes, a.waited}));
  json j = {{"name", s.name},
            {"deployment_id", s.deployment_id},
            {"busy_s", s.busy_s},
            {"tasks_run", s.tasks_run},
            {"task_errors", s.task_errors},
            {"bands_received", s.bands_received},
            {"bands_rejected", s.bands_rejected},
            {"garbage", s.garbage},
            {"dropped", s.dropped},
            {"bands_sent", s.bands_sent},
            {"bytes_sent", s.bytes_sent},
            {"tasks", tasks},
            {"arrivals", arrivals}};
  return j.dump();
}

Result<WorkerStats> parse_stats(const std::string& json_text) {
  json j = json::parse(json_text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return errorf("worker stats: invalid JSON object");
  WorkerStats s;
  try {
    s.name = j.at("name").get<std::string>();
    s.deployment_id = j.at("deployment_id").get<uint64_t>();
    s.busy_s = j.at("busy_s").get<double>();
    s.tasks_run = j.at("tasks_run").get<uint64_t>();
    s.task_errors = j.at("task_errors").get<uint64_t>();
    s.bands_received = j.at("bands_received").get<uint64_t>();
    s.bands_rejected = j.at("bands_rejected").get<uint64_t>();
    s.garbage = j.at("garbage").get<uint64_t>();
    s.dropped = j.at("dropped").get<uint64_t>();
    s.bands_sent = j.at("bands_sent").get<uint64_t>();
    s.bytes_sent = j.at("bytes_sent").get<uint64_t>();
    const json& tasks = j.at("tasks");
    const json& arrivals = j.at("arrivals");
    if (!tasks.is_array() || !arrivals.is_array() || tasks.size() > kMaxRecords ||
        arrivals.size() > kMaxRecords)
      return errorf("worker stats: tasks/arrivals: must be arrays of at most {} records",
                    kMaxRecords);
    for (const json& t : tasks) {
      if (!t.is_array() || t.size() != 5) return errorf("worker stats: tasks: bad record");
      s.tasks.push_back({t[0].get<uint64_t>(), t[1].get<int>(), t[2].get<int>(),
                         t[3].get<int64_t>(), t[4].get<int64_t>()});
    }
    for (const json& a : arrivals) {
      if (!a.is_array() || a.size() != 6) return errorf("worker stats: arrivals: bad record");
      s.arrivals.push_back({a[0].get<uint64_t>(), a[1].get<int>(), a[2].get<int>(),
                            a[3].get<int64_t>(), a[4].get<uint64_t>(), a[5].get<bool>()});
    }
  } catch (const json::exception& e) {
    return errorf("worker stats: {}", e.what());
  }
  return s;
}

}  // namespace coinfer::runtime
