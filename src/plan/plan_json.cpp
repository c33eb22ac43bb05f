// Plan JSON (schema in docs/PLAN.md): a strict reader whose every error is one
// line naming the field path, and a stable writer (one part per line).
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <climits>
#include <cstring>
#include <fstream>
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "plan/plan.h"

namespace coinfer::plan {

namespace {

using nlohmann::json;

std::string dump(const json& v) {
  std::string s = v.dump(-1, ' ', false, json::error_handler_t::replace);
  if (s.size() > 40) s = s.substr(0, 37) + "...";
  return s;
}

std::string quote(const std::string& s) {
  return json(s).dump(-1, ' ', false, json::error_handler_t::replace);
}

// "string \"abc\"", "number 1.5", "array [1,2,3]"
std::string describe(const json& v) {
  return fmt::format("{} {}", v.type_name(), dump(v));
}

// A key as it appears in an error path: bare if it is a plain identifier.
std::string key_str(const std::string& k) {
  bool plain = !k.empty() && k.size() <= 40;
  for (char ch : k) plain = plain && (std::isalnum(static_cast<unsigned char>(ch)) || ch == '_');
  return plain ? k : dump(json(k));
}

class Reader {
 public:
  explicit Reader(const std::string& what) : what_(what) {}

  Status fail(const std::string& path, const std::string& rule) const {
    if (path.empty()) return errorf("plan '{}': {}", what_, rule);
    return errorf("plan '{}': {}: {}", what_, path, rule);
  }

  static std::string field(const std::string& path, const std::string& key) {
    return path.empty() ? key_str(key) : path + "." + key_str(key);
  }

  Status object(const json& v, const std::string& path,
                std::initializer_list<const char*> allowed) const {
    if (!v.is_object()) return fail(path, "must be an object, got " + describe(v));
    for (auto it = v.begin(); it != v.end(); ++it) {
      bool known = false;
      std::string expected;
      for (const char* k : allowed) {
        known = known || it.key() == k;
        expected += (expected.empty() ? "" : ", ") + std::string(k);
      }
      if (!known) return fail(field(path, it.key()), "unknown key (expected " + expected + ")");
    }
    return ok_status();
  }

  Status integer(const json& v, const std::string& path, int* out) const {
    if (!v.is_number_integer()) return fail(path, "must be an integer, got " + describe(v));
    bool fits = v.is_number_unsigned() ? v.get<uint64_t>() <= uint64_t(INT_MAX)
                                       : v.get<int64_t>() >= INT_MIN && v.get<int64_t>() <= INT_MAX;
    if (!fits) return fail(path + "=" + dump(v), "out of the 32-bit integer range");
    *out = v.is_number_unsigned() ? int(v.get<uint64_t>()) : int(v.get<int64_t>());
    return ok_status();
  }

  Status string(const json& v, const std::string& path, std::string* out, bool non_empty) const {
    if (!v.is_string() || (non_empty && v.get_ref<const std::string&>().empty()))
      return fail(path, std::string(non_empty ? "must be a non-empty string" : "must be a string") +
                            ", got " + describe(v));
    *out = v.get<std::string>();
    return ok_status();
  }

  // A half-open interval written as [lo, hi]; 0 <= lo < hi.
  Status range(const json& v, const std::string& path, Rows* out, const char* lo,
               const char* hi) const {
    if (!v.is_array() || v.size() != 2)
      return fail(path,
                  fmt::format("must be [{}, {}] (two integers), got {}", lo, hi, describe(v)));
    int a = 0, b = 0;
    RETURN_IF_ERROR(integer(v[0], path + "[0]", &a));
    RETURN_IF_ERROR(integer(v[1], path + "[1]", &b));
    std::string at = fmt::format("{}=[{},{}]", path, a, b);
    if (a < 0) return fail(at, fmt::format("{} must be >= 0", lo));
    if (a >= b) return fail(at, fmt::format("must be [{}, {}) with {} < {}", lo, hi, lo, hi));
    *out = {a, b};
    return ok_status();
  }

  // A required member of object `v`.
  Status need(const json& v, const std::string& path, const char* key) const {
    return v.contains(key) ? ok_status() : fail(field(path, key), "missing");
  }

 private:
  std::string what_;
};

Status read_part(const Reader& r, const json& v, const std::string& path, Assignment* a) {
  RETURN_IF_ERROR(r.object(v, path, {"device", "rows", "cols"}));
  RETURN_IF_ERROR(r.need(v, path, "device"));
  RETURN_IF_ERROR(r.string(v["device"], path + ".device", &a->device, true));
  RETURN_IF_ERROR(r.need(v, path, "rows"));
  RETURN_IF_ERROR(r.range(v["rows"], path + ".rows", &a->rows, "lo", "hi"));
  if (v.contains("cols")) RETURN_IF_ERROR(r.range(v["cols"], path + ".cols", &a->cols, "lo", "hi"));
  return ok_status();
}

Status read_stage(const Reader& r, const json& v, const std::string& path, Stage* s) {
  RETURN_IF_ERROR(r.object(v, path, {"blocks", "parts", "pipeline"}));
  RETURN_IF_ERROR(r.need(v, path, "blocks"));
  Rows blocks;
  RETURN_IF_ERROR(r.range(v["blocks"], path + ".blocks", &blocks, "first", "last"));
  s->first_block = blocks.lo;
  s->last_block = blocks.hi;
  if (v.contains("pipeline")) {
    RETURN_IF_ERROR(r.integer(v["pipeline"], path + ".pipeline", &s->pipeline));
    if (s->pipeline < 0)
      return r.fail(fmt::format("{}.pipeline={}", path, s->pipeline), "must be >= 0");
  }
  RETURN_IF_ERROR(r.need(v, path, "parts"));
  const json& parts = v["parts"];
  if (!parts.is_array()) return r.fail(path + ".parts", "must be an array, got " + describe(parts));
  for (size_t j = 0; j < parts.size(); ++j) {
    Assignment a;
    RETURN_IF_ERROR(read_part(r, parts[j], fmt::format("{}.parts[{}]", path, j), &a));
    s->parts.push_back(std::move(a));
  }
  return ok_status();
}

}  // namespace

Result<Plan> parse(const std::string& json_text, const std::string& what) {
  Reader r(what);
  // nlohmann keeps the last of duplicate keys silently; a callback catches them.
  std::vector<std::set<std::string>> open;
  std::string dup;
  json::parser_callback_t cb = [&](int, json::parse_event_t ev, json& parsed) {
    if (ev == json::parse_event_t::object_start) {
      open.emplace_back();
    } else if (ev == json::parse_event_t::object_end) {
      if (!open.empty()) open.pop_back();
    } else if (ev == json::parse_event_t::key && !open.empty() && parsed.is_string()) {
      const auto& k = parsed.get_ref<const std::string&>();
      if (!open.back().insert(k).second && dup.empty()) dup = k;
    }
    return true;
  };
  json j;
  try {
    j = json::parse(json_text, cb);
  } catch (const json::exception& e) {
    std::string m = e.what();
    size_t at = m.find("] ");
    if (at != std::string::npos) m = m.substr(at + 2);
    return r.fail("", "invalid JSON: " + m);
  }
  if (!dup.empty()) return r.fail("", "duplicate key " + quote(dup));
  if (!j.is_object()) return r.fail("", "must be a JSON object, got " + describe(j));
  Plan p;
  if (!j.contains("version"))
    return r.fail("version", fmt::format("missing (this build reads version {})", kPlanVersion));
  RETURN_IF_ERROR(r.integer(j["version"], "version", &p.version));
  if (p.version != kPlanVersion)
    return r.fail("",
                  fmt::format("version {}: this build reads version {}", p.version, kPlanVersion));
  RETURN_IF_ERROR(r.object(j, "", {"version", "model", "strategy", "stages"}));
  if (j.contains("model")) RETURN_IF_ERROR(r.string(j["model"], "model", &p.model, false));
  if (j.contains("strategy"))
    RETURN_IF_ERROR(r.string(j["strategy"], "strategy", &p.strategy, false));
  RETURN_IF_ERROR(r.need(j, "", "stages"));
  const json& stages = j["stages"];
  if (!stages.is_array()) return r.fail("stages", "must be an array, got " + describe(stages));
  for (size_t i = 0; i < stages.size(); ++i) {
    Stage s;
    RETURN_IF_ERROR(read_stage(r, stages[i], fmt::format("stages[{}]", i), &s));
    p.stages.push_back(std::move(s));
  }
  return p;
}

Result<Plan> load(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return errorf("plan '{}': cannot open: {}", path, std::strerror(errno));
  std::stringstream ss;
  ss << f.rdbuf();
  if (f.bad()) return errorf("plan '{}': read error", path);
  return parse(ss.str(), path);
}

std::string to_json(const Plan& p) {
  std::string o =
      fmt::format("{{\n  \"version\": {},\n  \"model\": {},\n  \"strategy\": {},\n  \"stages\": [",
                  p.version, quote(p.model), quote(p.strategy));
  const bool interleaved =
      std::any_of(p.stages.begin(), p.stages.end(), [](const Stage& s) { return s.pipeline != 0; });
  for (size_t i = 0; i < p.stages.size(); ++i) {
    const Stage& s = p.stages[i];
    o += fmt::format("{}\n    {{", i ? "," : "");
    if (interleaved) o += fmt::format("\"pipeline\": {}, ", s.pipeline);
    o += fmt::format("\"blocks\": [{}, {}], \"parts\": [", s.first_block, s.last_block);
    for (size_t j = 0; j < s.parts.size(); ++j) {
      const Assignment& a = s.parts[j];
      o += fmt::format("{}\n      {{\"device\": {}, \"rows\": [{}, {}]", j ? "," : "",
                       quote(a.device), a.rows.lo, a.rows.hi);
      if (!a.all_cols()) o += fmt::format(", \"cols\": [{}, {}]", a.cols.lo, a.cols.hi);
      o += "}";
    }
    o += s.parts.empty() ? "]}" : "\n    ]}";
  }
  o += p.stages.empty() ? "]\n}\n" : "\n  ]\n}\n";
  return o;
}

}  // namespace coinfer::plan
