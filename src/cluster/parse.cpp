// Cluster spec parsing: strict JSON, every error one line naming the field.
#include "cluster/cluster.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <limits>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

namespace coinfer::cluster {
namespace {

using json = nlohmann::json;

constexpr int kMaxDevices = 1024;
constexpr int kMaxThreads = 1024;
constexpr size_t kMaxNameLength = 64;
constexpr double kMinBandwidthBps = 1e3;  // below this, a unit was surely forgotten
constexpr double kMaxBandwidthBps = 1e13;
constexpr double kMinMemoryBytes = 1 << 20;
constexpr double kMaxLatencyS = 60;
constexpr double kMaxSpeed = 1e6;
constexpr double kMaxWatts = 1e5;
constexpr size_t kMaxFileBytes = 16u << 20;

std::string one_line(std::string s) {
  for (char& ch : s)
    if (static_cast<unsigned char>(ch) < 0x20 || ch == 0x7f) ch = '?';
  return s;
}

// A value as errors show it: strings in single quotes, others as JSON.
std::string show(const json& v) {
  std::string s = v.is_string() ? fmt::format("'{}'", v.get_ref<const std::string&>()) : v.dump();
  if (s.size() > 48) s = s.substr(0, 45) + "...";
  return s;
}

size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

// Thrown by StructureCheck to stop parsing a document nested absurdly deep.
struct TooDeep {};

// Duplicate keys (nlohmann keeps the last silently) and absurd nesting,
// found during parsing; the path is in the error style ("devices[1].speed").
class StructureCheck {
 public:
  bool operator()(int depth, json::parse_event_t event, json& parsed) {
    using E = json::parse_event_t;
    if (depth > 16) throw TooDeep{};
    switch (event) {
      case E::object_start:
      case E::array_start:
        stack_.push_back({event == E::object_start, element_path(), {}, -1, {}});
        break;
      case E::object_end:
      case E::array_end:
        if (!stack_.empty()) stack_.pop_back();
        break;
      case E::key: {
        Frame& f = stack_.back();
        f.key = parsed.get<std::string>();
        if (!f.keys.insert(f.key).second && error_.empty())
          error_ = join(f.path, f.key) + ": duplicate key";
        break;
      }
      case E::value:
        element_path();
        break;
    }
    return true;
  }
  const std::string& error() const { return error_; }

 private:
  struct Frame {
    bool object;
    std::string path;
    std::string key;
    int index;
    std::set<std::string> keys;
  };
  static std::string join(const std::string& path, const std::string& key) {
    return path.empty() ? key : path + "." + key;
  }
  // Path of the element that starts now (advances an array's index).
  std::string element_path() {
    if (stack_.empty()) return "";
    Frame& f = stack_.back();
    if (f.object) return join(f.path, f.key);
    return f.path + "[" + std::to_string(++f.index) + "]";
  }
  std::vector<Frame> stack_;
  std::string error_;
};

class Parser {
 public:
  explicit Parser(const std::string& what) : what_(what) {}

  Status fail(const std::string& path, const std::string& msg) const {
    return Status::error(
        one_line(fmt::format("cluster '{}': {}{}", what_, path.empty() ? "" : path + ": ", msg)));
  }
  Status bad(const std::string& path, const json& v, const std::string& rule) const {
    return Status::error(
        one_line(fmt::format("cluster '{}': {}={}: {}", what_, path, show(v), rule)));
  }

  // Every key of `obj` must be one of `allowed`.
  Status check_keys(const json& obj, const std::string& path,
                    std::initializer_list<const char*> allowed) const {
    for (const auto& item : obj.items()) {
      const std::string& key = item.key();  // not a structured binding: clang 14 cannot capture one
      if (std::any_of(allowed.begin(), allowed.end(), [&](const char* a) { return key == a; }))
        continue;
      std::string hint;
      size_t best = std::numeric_limits<size_t>::max();
      for (const char* a : allowed) {
        const std::string cand = a;
        // "bandwidth_bps" -> "bandwidth"; "sped" -> "speed".
        const size_t dist = key.rfind(cand + "_", 0) == 0 ? 0 : edit_distance(key, cand);
        if (dist < best && dist <= std::max<size_t>(1, cand.size() / 4)) {
          best = dist;
          hint = " (did you mean '" + cand + "'?)";
        }
      }
      std::string all;
      for (const char* a : allowed) all += (all.empty() ? "" : ", ") + std::string(a);
      return fail(sub(path, key), "unknown key" + (hint.empty() ? " (known: " + all + ")" : hint));
    }
    return ok_status();
  }

  static std::string sub(const std::string& path, const std::string& key) {
    return path.empty() ? key : path + "." + key;
  }
  static std::string idx(const std::string& path, size_t i) {
    return path + "[" + std::to_string(i) + "]";
  }

  Status name(const json& v, const std::string& path, std::string* out) const {
    if (!v.is_string()) return bad(path, v, "must be a string");
    const std::string s = v.get<std::string>();
    const bool chars_ok = std::all_of(s.begin(), s.end(), [](char ch) {
      return std::isalnum(static_cast<unsigned char>(ch)) || ch == '_' || ch == '-' || ch == '.';
    });
    if (s.empty() || s.size() > kMaxNameLength || !chars_ok)
      return bad(path, v, "must be 1-64 characters from A-Z a-z 0-9 _ - .");
    *out = s;
    return ok_status();
  }

  Status string(const json& v, const std::string& path, std::string* out) const {
    if (!v.is_string()) return bad(path, v, "must be a string");
    *out = v.get<std::string>();
    return ok_status();
  }

  // A number within [lo, hi] (lo excluded when `open_lo`).
  Status number(const json& v, const std::string& path, double lo, bool open_lo, double hi,
                double* out) const {
    if (!v.is_number()) return bad(path, v, "must be a number");
    return in_range(v, v.get<double>(), path, lo, open_lo, hi, out);
  }

  Status in_range(const json& v, double x, const std::string& path, double lo, bool open_lo,
                  double hi, double* out) const {
    if (!std::isfinite(x)) return bad(path, v, "must be finite");
    if (open_lo ? !(x > lo) : !(x >= lo))
      return bad(path, v, fmt::format("must be {} {}", open_lo ? ">" : ">=", lo));
    if (x > hi) return bad(path, v, fmt::format("must be <= {}", hi));
    *out = x;
    return ok_status();
  }

  Status integer(const json& v, const std::string& path, int lo, int hi, int* out) const {
    if (!v.is_number_integer()) return bad(path, v, "must be an integer");
    const double x = v.get<double>();
    if (x < lo || x > hi) return bad(path, v, fmt::format("must be in [{}, {}]", lo, hi));
    *out = int(x);
    return ok_status();
  }

  // A number in the base unit or a string with a unit (parse_quantity).
  Status quantity(const json& v, const std::string& path, Quantity q, double lo, bool open_lo,
                  double hi, double* out) const {
    double x = 0;
    if (v.is_number()) {
      x = v.get<double>();
    } else if (v.is_string()) {
      auto r = parse_quantity(v.get<std::string>(), q);
      if (!r.ok()) return bad(path, v, r.error());
      x = *r;
    } else {
      static const char* kHint[] = {"a number (bits/s) or a string with a unit, e.g. '50Mbps'",
                                    "a number (bytes) or a string with a unit, e.g. '2GiB'",
                                    "a number (seconds) or a string with a unit, e.g. '2ms'"};
      return bad(path, v, std::string("must be ") + kHint[size_t(q)]);
    }
    RETURN_IF_ERROR(in_range(v, x, path, lo, open_lo, hi, out));
    if (v.is_number() && q == Quantity::Bandwidth && x < kMinBandwidthBps)
      return bad(path, v, "must be >= 1000 bits/s (forgot a unit? e.g. '50Mbps')");
    if (v.is_number() && q == Quantity::Bytes && x < kMinMemoryBytes)
      return bad(path, v, "must be >= 1 MiB (forgot a unit? e.g. '2GiB')");
    return ok_status();
  }

  Status bandwidth(const json& v, const std::string& path, double* out) const {
    return quantity(v, path, Quantity::Bandwidth, 0, true, kMaxBandwidthBps, out);
  }
  Status latency(const json& v, const std::string& path, double* out) const {
    return quantity(v, path, Quantity::Seconds, 0, false, kMaxLatencyS, out);
  }

  Status power(const json& v, const std::string& path, PowerModel* out) const {
    if (!v.is_object()) return bad(path, v, "must be an object {idle_w, busy_w, tx_w}");
    RETURN_IF_ERROR(check_keys(v, path, {"idle_w", "busy_w", "tx_w"}));
    const std::pair<const char*, double*> fields[] = {
        {"idle_w", &out->idle_w}, {"busy_w", &out->busy_w}, {"tx_w", &out->tx_w}};
    for (auto [key, dst] : fields) {
      if (!v.contains(key)) return fail(sub(path, key), "missing (required)");
      RETURN_IF_ERROR(number(v[key], sub(path, key), 0, false, kMaxWatts, dst));
    }
    if (out->busy_w < out->idle_w)
      return bad(sub(path, "busy_w"), v["busy_w"],
                 fmt::format("must be >= idle_w ({})", out->idle_w));
    if (out->tx_w < out->idle_w)
      return bad(sub(path, "tx_w"), v["tx_w"], fmt::format("must be >= idle_w ({})", out->idle_w));
    return ok_status();
  }

  Status address(const json& v, const std::string& path, std::string* out) const {
    RETURN_IF_ERROR(string(v, path, out));
    if (out->empty()) return ok_status();
    if (out->rfind("ipc://", 0) == 0 && out->size() > 6) return ok_status();
    if (out->rfind("tcp://", 0) == 0) {
      const size_t colon = out->rfind(':');
      const std::string port = colon > 6 ? out->substr(colon + 1) : "";
      const bool digits =
          !port.empty() && port.size() <= 5 &&
          std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; });
      if (colon > 6 && digits && std::stoi(port) >= 1 && std::stoi(port) <= 65535)
        return ok_status();
    }
    return bad(path, v, "must be 'tcp://HOST:PORT' (port 1-65535) or 'ipc://PATH'");
  }

  // A CURVE public key: 40 Z85 characters (0-9 a-z A-Z .-:+=^!/*?&<>()[]{}@%$#).
  Status public_key(const json& v, const std::string& path, std::string* out) const {
    RETURN_IF_ERROR(string(v, path, out));
    static constexpr std::string_view kZ85 =
        "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";
    if (out->size() != 40 ||
        !std::all_of(out->begin(), out->end(), [](char c) { return kZ85.find(c) != kZ85.npos; }))
      return bad(path, v, "must be a CURVE public key: 40 Z85 characters (coinfer keygen)");
    return ok_status();
  }

  Status device(const json& v, const std::string& path, Device* d) const {
    if (!v.is_object()) return bad(path, v, "must be an object");
    RETURN_IF_ERROR(check_keys(v, path,
                               {"name", "address", "public_key", "threads", "memory", "profile",
                                "speed", "link", "power"}));
    if (!v.contains("name")) return fail(sub(path, "name"), "missing (required)");
    RETURN_IF_ERROR(name(v["name"], sub(path, "name"), &d->name));
    if (d->name == kExternalSource)
      return bad(sub(path, "name"), v["name"], "is reserved for the source");
    if (v.contains("address"))
      RETURN_IF_ERROR(address(v["address"], sub(path, "address"), &d->address));
    if (v.contains("public_key"))
      RETURN_IF_ERROR(public_key(v["public_key"], sub(path, "public_key"), &d->public_key));
    if (v.contains("threads"))
      RETURN_IF_ERROR(integer(v["threads"], sub(path, "threads"), 1, kMaxThreads, &d->threads));
    if (v.contains("memory"))
      RETURN_IF_ERROR(quantity(v["memory"], sub(path, "memory"), Quantity::Bytes, 0, true,
                               std::ldexp(1.0, 60), &d->memory_bytes));
    if (v.contains("profile")) {
      RETURN_IF_ERROR(string(v["profile"], sub(path, "profile"), &d->profile));
      if (d->profile.empty()) return bad(sub(path, "profile"), v["profile"], "must not be empty");
    }
    if (v.contains("speed"))
      RETURN_IF_ERROR(number(v["speed"], sub(path, "speed"), 0, true, kMaxSpeed, &d->speed));
    if (v.contains("link")) RETURN_IF_ERROR(bandwidth(v["link"], sub(path, "link"), &d->link_bps));
    if (v.contains("power")) RETURN_IF_ERROR(power(v["power"], sub(path, "power"), &d->power));
    return ok_status();
  }

  Status link(const json& v, const std::string& path, const ClusterSpec& c, Link* l) const {
    if (!v.is_object()) return bad(path, v, "must be an object {a, b, bandwidth, latency}");
    RETURN_IF_ERROR(check_keys(v, path, {"a", "b", "bandwidth", "latency"}));
    for (const char* key : {"a", "b", "bandwidth"})
      if (!v.contains(key)) return fail(sub(path, key), "missing (required)");
    RETURN_IF_ERROR(string(v["a"], sub(path, "a"), &l->a));
    RETURN_IF_ERROR(string(v["b"], sub(path, "b"), &l->b));
    if (c.find(l->a) < 0) return bad(sub(path, "a"), v["a"], "no such device");
    if (c.find(l->b) < 0) return bad(sub(path, "b"), v["b"], "no such device");
    if (l->a == l->b) return bad(sub(path, "b"), v["b"], "a link needs two different devices");
    RETURN_IF_ERROR(bandwidth(v["bandwidth"], sub(path, "bandwidth"), &l->bandwidth_bps));
    l->latency_s = c.default_latency_s;
    if (v.contains("latency"))
      RETURN_IF_ERROR(latency(v["latency"], sub(path, "latency"), &l->latency_s));
    return ok_status();
  }

  Result<ClusterSpec> spec(const json& root) const {
    if (!root.is_object()) return fail("", "the top level must be a JSON object");
    RETURN_IF_ERROR(check_keys(root, "",
                               {"name", "description", "devices", "links", "default_bandwidth",
                                "default_latency", "shared_medium", "medium_bandwidth", "source"}));
    ClusterSpec c;
    if (!root.contains("name")) return fail("name", "missing (required)");
    RETURN_IF_ERROR(name(root["name"], "name", &c.name));
    if (root.contains("description"))
      RETURN_IF_ERROR(string(root["description"], "description", &c.description));
    if (root.contains("default_bandwidth"))
      RETURN_IF_ERROR(
          bandwidth(root["default_bandwidth"], "default_bandwidth", &c.default_bandwidth_bps));
    if (root.contains("default_latency"))
      RETURN_IF_ERROR(latency(root["default_latency"], "default_latency", &c.default_latency_s));
    if (root.contains("shared_medium")) {
      if (!root["shared_medium"].is_boolean())
        return bad("shared_medium", root["shared_medium"], "must be true or false");
      c.shared_medium = root["shared_medium"].get<bool>();
    }
    if (c.shared_medium && !root.contains("medium_bandwidth"))
      return fail("medium_bandwidth", "missing (required when shared_medium is true)");
    if (!c.shared_medium && root.contains("medium_bandwidth"))
      return fail("medium_bandwidth", "only allowed when shared_medium is true");
    if (c.shared_medium)
      RETURN_IF_ERROR(
          bandwidth(root["medium_bandwidth"], "medium_bandwidth", &c.medium_bandwidth_bps));

    if (!root.contains("devices")) return fail("devices", "missing (required)");
    const json& devs = root["devices"];
    if (!devs.is_array()) return bad("devices", devs, "must be an array");
    if (devs.empty()) return fail("devices", "must list at least one device");
    if (devs.size() > size_t(kMaxDevices)) return fail("devices", "more than 1024 devices");
    std::set<std::string> addresses;
    for (size_t i = 0; i < devs.size(); ++i) {
      Device d;
      const std::string path = idx("devices", i);
      RETURN_IF_ERROR(device(devs[i], path, &d));
      if (c.find(d.name) >= 0)
        return bad(sub(path, "name"), devs[i]["name"], "duplicate device name");
      if (!d.address.empty() && !addresses.insert(d.address).second)
        return bad(sub(path, "address"), devs[i]["address"], "two devices share this address");
      c.devices.push_back(std::move(d));
    }

    if (root.contains("links")) {
      const json& links = root["links"];
      if (!links.is_array()) return bad("links", links, "must be an array");
      std::set<std::pair<std::string, std::string>> pairs;
      for (size_t i = 0; i < links.size(); ++i) {
        Link l;
        RETURN_IF_ERROR(link(links[i], idx("links", i), c, &l));
        if (!pairs.insert(std::minmax(l.a, l.b)).second)
          return fail(idx("links", i),
                      fmt::format("a second link between '{}' and '{}'", l.a, l.b));
        c.links.push_back(std::move(l));
      }
    }

    if (root.contains("source")) {
      RETURN_IF_ERROR(string(root["source"], "source", &c.source));
      if (c.source == kExternalSource) c.source.clear();
      if (!c.source.empty() && c.find(c.source) < 0)
        return bad("source", root["source"], "no such device (or 'external')");
    }
    return c;
  }

 private:
  std::string what_;
};

}  // namespace

Result<ClusterSpec> parse(const std::string& json_text, const std::string& what) {
  Parser p(what);
  StructureCheck check;
  json root;
  try {
    root = json::parse(json_text, std::ref(check));
  } catch (const TooDeep&) {
    return p.fail("", "nested deeper than 16 levels");
  } catch (const json::exception& e) {
    std::string msg = e.what();
    if (msg.rfind("[json.exception.", 0) == 0 && msg.find("] ") != std::string::npos)
      msg = msg.substr(msg.find("] ") + 2);
    for (char& ch : msg)
      if (static_cast<unsigned char>(ch) >= 0x80) ch = '?';  // a stray byte of the input
    return p.fail("", "not valid JSON: " + msg);
  }
  if (!check.error().empty()) return p.fail("", check.error());
  return p.spec(root);
}

Result<ClusterSpec> load(const std::string& path) {
  namespace fs = std::filesystem;
  std::ifstream in(path, std::ios::binary);
  if (!in) return errorf("cluster '{}': cannot open the file", path);
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return errorf("cluster '{}': read error", path);
  const std::string text = ss.str();
  if (text.size() > kMaxFileBytes) return errorf("cluster '{}': file larger than 16 MiB", path);
  ASSIGN_OR_RETURN(ClusterSpec c, parse(text, path));
  const fs::path dir = fs::path(path).parent_path();
  for (size_t i = 0; i < c.devices.size(); ++i) {
    std::string& prof = c.devices[i].profile;
    if (prof.empty()) continue;
    const std::string given = prof;
    if (fs::path(prof).is_relative()) prof = (dir / prof).lexically_normal().string();
    std::error_code ec;
    if (!fs::is_regular_file(prof, ec))
      return errorf("cluster '{}': devices[{}].profile='{}': no such file (looked for '{}')", path,
                    i, one_line(given), one_line(prof));
  }
  return c;
}

}  // namespace coinfer::cluster
