// parse_quantity: numbers with units in cluster specs ("50Mbps", "2GiB", "2ms").
#include <cctype>
#include <charconv>
#include <cmath>
#include <string_view>

#include "cluster/cluster.h"

namespace coinfer::cluster {
namespace {

struct Unit {
  std::string_view name;
  double scale;  // to bits/s, bytes or seconds
};

// Case matters where it carries meaning: b = bit, B = byte, m = milli
// (seconds) but mega in "mbps", the common spelling of megabits.
constexpr Unit kBandwidth[] = {
    {"bps", 1},      {"bit/s", 1},    {"b/s", 1},
    {"kbps", 1e3},   {"Kbps", 1e3},   {"kbit/s", 1e3},
    {"Kbit/s", 1e3}, {"kb/s", 1e3},   {"Mbps", 1e6},
    {"mbps", 1e6},   {"Mbit/s", 1e6}, {"Mb/s", 1e6},
    {"Gbps", 1e9},   {"gbps", 1e9},   {"Gbit/s", 1e9},
    {"Gb/s", 1e9},   {"B/s", 8},      {"Bps", 8},
    {"kB/s", 8e3},   {"KB/s", 8e3},   {"KiB/s", 8 * 1024.0},
    {"MB/s", 8e6},   {"MBps", 8e6},   {"MiB/s", 8 * 1048576.0},
    {"GB/s", 8e9},   {"GBps", 8e9},   {"GiB/s", 8 * 1073741824.0},
};
constexpr Unit kBytes[] = {
    {"B", 1},     {"kB", 1e3},
    {"KB", 1e3},  {"KiB", 1024.0},
    {"MB", 1e6},  {"MiB", 1048576.0},
    {"GB", 1e9},  {"GiB", 1073741824.0},
    {"TB", 1e12}, {"TiB", 1099511627776.0},
};
constexpr Unit kSeconds[] = {
    {"s", 1}, {"ms", 1e-3}, {"us", 1e-6}, {"\xC2\xB5s", 1e-6}, {"ns", 1e-9}, {"min", 60},
};

struct Table {
  const Unit* begin;
  const Unit* end;
  const char* example;
  const char* listing;
};

Table table_for(Quantity q) {
  switch (q) {
    case Quantity::Bandwidth:
      return {std::begin(kBandwidth), std::end(kBandwidth), "'50Mbps'",
              "bps, kbps, Mbps, Gbps, Mbit/s, MB/s, MiB/s"};
    case Quantity::Bytes:
      return {std::begin(kBytes), std::end(kBytes), "'2GiB'",
              "B, kB, KiB, MB, MiB, GB, GiB, TB, TiB"};
    case Quantity::Seconds:
    case Quantity::Count:
      break;
  }
  return {std::begin(kSeconds), std::end(kSeconds), "'2ms'", "s, ms, us, ns, min"};
}

}  // namespace

Result<double> parse_quantity(const std::string& text, Quantity q) {
  const Table t = table_for(q);
  std::string_view s = text;
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  // A plain decimal number: no "inf", "nan", hex or leading '+'.
  size_t digits_at = (!s.empty() && s[0] == '-') ? 1 : 0;
  if (s.size() <= digits_at ||
      !(std::isdigit(static_cast<unsigned char>(s[digits_at])) || s[digits_at] == '.'))
    return errorf("expected a number and a unit, e.g. {}", t.example);
  double v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v, std::chars_format::general);
  if (ec == std::errc::result_out_of_range) return errorf("number out of range");
  if (ec != std::errc()) return errorf("expected a number and a unit, e.g. {}", t.example);
  std::string_view unit = s.substr(size_t(end - s.data()));
  while (!unit.empty() && unit.front() == ' ') unit.remove_prefix(1);
  if (unit.empty()) return errorf("a unit is required, e.g. {}", t.example);
  for (const Unit* u = t.begin; u != t.end; ++u) {
    if (u->name != unit) continue;
    const double r = v * u->scale;
    if (!std::isfinite(r)) return errorf("number out of range");
    return r;
  }
  return errorf("unknown unit '{}' (use {})", unit, t.listing);
}

}  // namespace coinfer::cluster
