#include "cluster/cluster.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

using namespace coinfer;
using namespace coinfer::cluster;

namespace {

namespace fs = std::filesystem;

const fs::path kExamples = fs::path(COINFER_SOURCE_DIR) / "examples" / "clusters";

ClusterSpec parse_ok(const std::string& text) {
  auto r = parse(text, "t.json");
  EXPECT_TRUE(r.ok()) << r.error();
  return r.ok() ? *r : ClusterSpec{};
}

// The error for `text`; fails the test if it parsed.
std::string parse_err(const std::string& text) {
  auto r = parse(text, "x.json");
  EXPECT_FALSE(r.ok()) << "parsed: " << text;
  return r.ok() ? "" : r.error();
}

// A minimal valid spec with `devices` (JSON array body) and extra top-level members.
std::string spec(const std::string& devices, const std::string& extra = "") {
  return R"({"name": "c", "devices": [)" + devices + "]" + (extra.empty() ? "" : ", " + extra) +
         "}";
}

TEST(Cluster, EveryExampleParses) {
  int n = 0;
  for (const auto& e : fs::directory_iterator(kExamples)) {
    if (e.path().extension() != ".json") continue;
    auto r = load(e.path().string());
    ASSERT_TRUE(r.ok()) << r.error();
    EXPECT_EQ(r->name, e.path().stem().string()) << "the name should match the file name";
    EXPECT_FALSE(r->devices.empty());
    ++n;
  }
  EXPECT_GE(n, 16);
}

TEST(Cluster, ExamplesRoundTrip) {
  for (const auto& e : fs::directory_iterator(kExamples)) {
    if (e.path().extension() != ".json") continue;
    auto a = load(e.path().string());
    ASSERT_TRUE(a.ok()) << a.error();
    const std::string text = to_json(*a);
    auto b = parse(text, "roundtrip");
    ASSERT_TRUE(b.ok()) << e.path() << ": " << b.error() << "\n" << text;
    EXPECT_TRUE(*a == *b) << e.path();
    EXPECT_EQ(to_json(*b), text);
  }
}

// The example in docs/CLUSTER.md is a valid spec.
TEST(Cluster, DocumentedExampleParses) {
  std::ifstream in(fs::path(COINFER_SOURCE_DIR) / "docs" / "CLUSTER.md");
  ASSERT_TRUE(in);
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string doc = ss.str();
  const size_t begin = doc.find("```json\n");
  ASSERT_NE(begin, std::string::npos);
  const size_t end = doc.find("```", begin + 8);
  ASSERT_NE(end, std::string::npos);
  ClusterSpec c = parse_ok(doc.substr(begin + 8, end - begin - 8));
  EXPECT_EQ(c.devices.size(), 5u);
  EXPECT_EQ(c.source, "cam");
  EXPECT_EQ(c.bandwidth_bps(c.find("desktop"), c.find("tx2")), 300e6);
  EXPECT_EQ(c.bandwidth_bps(c.find("pi4-0"), c.find("pi4-1")), 100e6);
}

TEST(Cluster, RandomSpecsRoundTrip) {
  const uint32_t seed = 20240611;
  std::mt19937 rng{seed};
  std::uniform_real_distribution<double> u(0, 1);
  for (int trial = 0; trial < 50; ++trial) {
    ClusterSpec c;
    c.name = fmt::format("r{}", trial);
    c.default_bandwidth_bps = 1e6 + u(rng) * 1e9;
    c.default_latency_s = u(rng) * 0.01;
    c.shared_medium = u(rng) < 0.5;
    if (c.shared_medium) c.medium_bandwidth_bps = 1e6 + u(rng) * 1e8;
    const int n = 1 + int(u(rng) * 6);
    for (int i = 0; i < n; ++i) {
      Device d;
      d.name = fmt::format("d{}", i);
      d.threads = 1 + int(u(rng) * 8);
      d.memory_bytes = u(rng) < 0.5 ? 0 : std::floor(1e7 + u(rng) * 1e10);
      d.speed = 0.01 + u(rng) * 4;
      d.link_bps = u(rng) < 0.5 ? 0 : 1e4 + u(rng) * 1e9;
      if (u(rng) < 0.5) d.power = {1 + u(rng), 3 + u(rng), 2 + u(rng)};
      c.devices.push_back(d);
    }
    for (int i = 1; i < n; i += 2)
      c.links.push_back({"d0", fmt::format("d{}", i), 1e5 + u(rng) * 1e8, u(rng)});
    if (u(rng) < 0.5) c.source = fmt::format("d{}", n - 1);
    auto back = parse(to_json(c), "random");
    ASSERT_TRUE(back.ok()) << "seed " << seed << " trial " << trial << ": " << back.error();
    EXPECT_TRUE(c == *back) << "seed " << seed << " trial " << trial << "\n" << to_json(c);
  }
}

TEST(Cluster, PicoTestbed) {
  auto r = load((kExamples / "pico-8rpi.json").string());
  ASSERT_TRUE(r.ok()) << r.error();
  ASSERT_EQ(r->devices.size(), 8u);
  EXPECT_TRUE(r->shared_medium);
  EXPECT_EQ(r->medium_bandwidth_bps, 50e6);
  for (const Device& d : r->devices) EXPECT_EQ(d.threads, 1);
  EXPECT_GT(r->devices[0].speed, r->devices[2].speed);
  EXPECT_GT(r->devices[2].speed, r->devices[4].speed);
  EXPECT_EQ(r->bandwidth_bps(0, 7), 50e6);
}

TEST(Cluster, DistrEdgeBandwidthSets) {
  auto r = load((kExamples / "distredge-DC-ND.json").string());
  ASSERT_TRUE(r.ok()) << r.error();
  const std::vector<std::string> names = {"xavier", "tx2", "nano", "pi3"};
  const std::vector<double> bw = {50e6, 100e6, 200e6, 300e6};
  ASSERT_EQ(r->devices.size(), 4u);
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(r->devices[i].name, names[i]);
    EXPECT_EQ(r->devices[i].link_bps, bw[i]);
    EXPECT_EQ(r->source_bandwidth_bps(int(i)), bw[i]);
  }
  EXPECT_EQ(r->bandwidth_bps(2, 3), 200e6);  // min of the two access links
  auto same = load((kExamples / "distredge-4jetson.json").string());
  ASSERT_TRUE(same.ok()) << same.error();
  EXPECT_TRUE(same->devices == r->devices);
}

TEST(Cluster, BandwidthRules) {
  ClusterSpec c = parse_ok(spec(
      R"({"name": "a", "link": "100Mbps"}, {"name": "b", "link": "50Mbps"},
         {"name": "c"}, {"name": "d"})",
      R"("default_bandwidth": "1Gbps", "default_latency": "3ms",
         "links": [{"a": "a", "b": "c", "bandwidth": "400Mbps", "latency": "1ms"},
                   {"a": "d", "b": "b", "bandwidth": "1Gbps"}])"));
  // Explicit link wins over the access links, in both directions.
  EXPECT_EQ(c.bandwidth_bps(0, 2), 400e6);
  EXPECT_EQ(c.bandwidth_bps(2, 0), 400e6);
  EXPECT_EQ(c.latency_s(2, 0), 1e-3);
  EXPECT_EQ(c.bandwidth_bps(3, 1), 1e9);    // above b's access link: the link says so
  EXPECT_EQ(c.latency_s(3, 1), 3e-3);       // link without latency: the default
  EXPECT_EQ(c.bandwidth_bps(0, 1), 50e6);   // min of the access links
  EXPECT_EQ(c.bandwidth_bps(0, 3), 100e6);  // unset access link = default (1 Gbps)
  EXPECT_EQ(c.bandwidth_bps(2, 3), 1e9);    // the default
  EXPECT_EQ(c.latency_s(0, 1), 3e-3);
  EXPECT_TRUE(std::isinf(c.bandwidth_bps(1, 1)));
  EXPECT_EQ(c.latency_s(1, 1), 0);
  // External source: each device's access link.
  EXPECT_EQ(c.source_bandwidth_bps(0), 100e6);
  EXPECT_EQ(c.source_bandwidth_bps(2), 1e9);
  EXPECT_EQ(c.source_latency_s(1), 3e-3);
  // A source device: the pair rules.
  c.source = "c";
  EXPECT_EQ(c.source_bandwidth_bps(0), 400e6);
  EXPECT_EQ(c.source_latency_s(0), 1e-3);
  EXPECT_EQ(c.source_bandwidth_bps(1), 50e6);
  EXPECT_TRUE(std::isinf(c.source_bandwidth_bps(2)));
  EXPECT_EQ(c.source_latency_s(2), 0);
  // A shared medium caps everything.
  c.shared_medium = true;
  c.medium_bandwidth_bps = 80e6;
  EXPECT_EQ(c.bandwidth_bps(0, 2), 80e6);
  EXPECT_EQ(c.bandwidth_bps(0, 1), 50e6);
  EXPECT_EQ(c.source_bandwidth_bps(3), 80e6);
  EXPECT_EQ(c.find("d"), 3);
  EXPECT_EQ(c.find("zz"), -1);
}

TEST(Cluster, SourceDevice) {
  ClusterSpec c = parse_ok(spec(R"({"name": "cam"}, {"name": "w"})", R"("source": "cam")"));
  EXPECT_EQ(c.source, "cam");
  c = parse_ok(spec(R"({"name": "w"})", R"("source": "external")"));
  EXPECT_EQ(c.source, "");
}

TEST(Cluster, Units) {
  auto q = [](const std::string& s, Quantity k) {
    auto r = parse_quantity(s, k);
    EXPECT_TRUE(r.ok()) << s << ": " << r.error();
    return r.ok() ? *r : -1.0;
  };
  EXPECT_EQ(q("50Mbps", Quantity::Bandwidth), 5e7);
  EXPECT_EQ(q("1Gbps", Quantity::Bandwidth), 1e9);
  EXPECT_EQ(q("100 Mbit/s", Quantity::Bandwidth), 1e8);
  EXPECT_EQ(q("2.5 kbps", Quantity::Bandwidth), 2500);
  EXPECT_EQ(q("12.5MB/s", Quantity::Bandwidth), 1e8);
  EXPECT_EQ(q("1e3bps", Quantity::Bandwidth), 1000);
  EXPECT_EQ(q("2GiB", Quantity::Bytes), 2147483648.0);
  EXPECT_EQ(q("512MiB", Quantity::Bytes), 536870912.0);
  EXPECT_EQ(q("4GB", Quantity::Bytes), 4e9);
  EXPECT_EQ(q("2ms", Quantity::Seconds), 2e-3);
  EXPECT_EQ(q("150us", Quantity::Seconds), 150e-6);
  EXPECT_EQ(q("1.5 s", Quantity::Seconds), 1.5);
  for (const char* bad :
       {"50", "Mbps", "fast", "50 furlongs", "inf Mbps", "nan", "+5Mbps", "0x10Mbps", "50MBit", ""})
    EXPECT_FALSE(parse_quantity(bad, Quantity::Bandwidth).ok()) << bad;
  EXPECT_FALSE(parse_quantity("2ms", Quantity::Bytes).ok());
  EXPECT_FALSE(parse_quantity("2GiB", Quantity::Seconds).ok());
  EXPECT_FALSE(parse_quantity("1e999Mbps", Quantity::Bandwidth).ok());

  // The same helper in a spec, and plain numbers in base units.
  ClusterSpec c = parse_ok(spec(R"({"name": "a", "memory": "2GiB", "link": "50Mbps"},
                                   {"name": "b", "memory": 1073741824, "link": 5e7})",
                                R"("default_latency": "2ms")"));
  EXPECT_EQ(c.devices[0].memory_bytes, 2147483648.0);
  EXPECT_EQ(c.devices[1].memory_bytes, 1073741824.0);
  EXPECT_EQ(c.devices[0].link_bps, 5e7);
  EXPECT_EQ(c.devices[1].link_bps, 5e7);
  EXPECT_EQ(c.default_latency_s, 2e-3);
}

TEST(Cluster, Defaults) {
  ClusterSpec c = parse_ok(spec(R"({"name": "a"})"));
  EXPECT_EQ(c.devices[0].threads, 1);
  EXPECT_EQ(c.devices[0].speed, 1.0);
  EXPECT_EQ(c.devices[0].memory_bytes, 0);
  EXPECT_EQ(c.default_bandwidth_bps, 1e9);
  EXPECT_FALSE(c.shared_medium);
  EXPECT_EQ(c.source, "");
}

struct BadCase {
  const char* what;
  std::string text;
  std::string expect;  // a substring of the error
};

TEST(Cluster, MalformedSpecsNameTheField) {
  const BadCase cases[] = {
      {"bad JSON", R"({"name": "c", "devices": [)", "cluster 'x.json': not valid JSON: "},
      {"trailing comma", R"({"name": "c", "devices": [{"name": "a"},]})", "not valid JSON"},
      {"not an object", "[1, 2]", "top level must be a JSON object"},
      {"negative speed", spec(R"({"name": "a"}, {"name": "b"}, {"name": "p", "speed": -1})"),
       "cluster 'x.json': devices[2].speed=-1: must be > 0"},
      {"zero speed", spec(R"({"name": "a", "speed": 0})"), "devices[0].speed=0: must be > 0"},
      {"unknown device in link",
       spec(R"({"name": "a"}, {"name": "b"})",
            R"("links": [{"a": "a", "b": "pi9", "bandwidth": "1Gbps"}])"),
       "cluster 'x.json': links[0].b='pi9': no such device"},
      {"self link",
       spec(R"({"name": "a"})", R"("links": [{"a": "a", "b": "a", "bandwidth": "1Gbps"}])"),
       "links[0].b='a'"},
      {"duplicate link",
       spec(R"({"name": "a"}, {"name": "b"})",
            R"("links": [{"a": "a", "b": "b", "bandwidth": "1Gbps"},
                         {"a": "b", "b": "a", "bandwidth": "2Gbps"}])"),
       "links[1]: a second link"},
      {"link without bandwidth",
       spec(R"({"name": "a"}, {"name": "b"})", R"("links": [{"a": "a", "b": "b"}])"),
       "links[0].bandwidth: missing"},
      {"duplicate name", spec(R"({"name": "a"}, {"name": "a"})"),
       "devices[1].name='a': duplicate device name"},
      {"duplicate address",
       spec(R"({"name": "a", "address": "tcp://h:1"}, {"name": "b", "address": "tcp://h:1"})"),
       "devices[1].address='tcp://h:1'"},
      {"bad address", spec(R"({"name": "a", "address": "h:99999"})"),
       "devices[0].address='h:99999'"},
      {"unknown device key", spec(R"({"name": "a", "sped": 2})"),
       "devices[0].sped: unknown key (did you mean 'speed'?)"},
      {"unit suffix in key", spec(R"({"name": "a"})", R"("default_bandwidth_bps": 1e9)"),
       "default_bandwidth_bps: unknown key (did you mean 'default_bandwidth'?)"},
      {"unknown top key", spec(R"({"name": "a"})", R"("colour": "red")"), "colour: unknown key"},
      {"unknown power key",
       spec(R"({"name": "a", "power": {"idle_w": 1, "busy_w": 2, "tx_w": 2, "peak_w": 3}})"),
       "devices[0].power.peak_w: unknown key"},
      {"duplicate JSON key", R"({"name": "c", "devices": [{"name": "a", "speed": 1, "speed": 2}]})",
       "devices[0].speed: duplicate key"},
      {"missing device name", spec(R"({"name": "a"}, {"speed": 2})"), "devices[1].name: missing"},
      {"missing cluster name", R"({"devices": [{"name": "a"}]})",
       "cluster 'x.json': name: missing"},
      {"empty name", spec(R"({"name": ""})"), "devices[0].name='': must be 1-64 characters"},
      {"spaces in name", spec(R"({"name": "pi 0"})"), "devices[0].name='pi 0'"},
      {"reserved name", spec(R"({"name": "external"})"), "devices[0].name='external': is reserved"},
      {"shared medium without bandwidth", spec(R"({"name": "a"})", R"("shared_medium": true)"),
       "medium_bandwidth: missing (required when shared_medium is true)"},
      {"medium bandwidth without shared medium",
       spec(R"({"name": "a"})", R"("medium_bandwidth": "50Mbps")"),
       "medium_bandwidth: only allowed"},
      {"zero medium bandwidth",
       spec(R"({"name": "a"})", R"("shared_medium": true, "medium_bandwidth": 0)"),
       "medium_bandwidth=0: must be > 0"},
      {"unknown source", spec(R"({"name": "a"})", R"("source": "cam")"),
       "source='cam': no such device"},
      {"empty device list", R"({"name": "c", "devices": []})",
       "devices: must list at least one device"},
      {"missing devices", R"({"name": "c"})", "devices: missing"},
      {"wrong type speed", spec(R"({"name": "a", "speed": "fast"})"),
       "devices[0].speed='fast': must be a number"},
      {"wrong type threads", spec(R"({"name": "a", "threads": 1.5})"),
       "devices[0].threads=1.5: must be an integer"},
      {"zero threads", spec(R"({"name": "a", "threads": 0})"),
       "devices[0].threads=0: must be in [1, 1024]"},
      {"wrong type shared_medium", spec(R"({"name": "a"})", R"("shared_medium": "yes")"),
       "shared_medium='yes': must be true or false"},
      {"wrong type devices", R"({"name": "c", "devices": {"name": "a"}})",
       "devices={\"name\":\"a\"}: must be an array"},
      {"wrong type device", spec(R"("a")"), "devices[0]='a': must be an object"},
      {"wrong type link", spec(R"({"name": "a", "link": true})"),
       "devices[0].link=true: must be a number (bits/s) or a string with a unit"},
      {"null memory", spec(R"({"name": "a", "memory": null})"), "devices[0].memory=null"},
      {"bad unit", spec(R"({"name": "a", "link": "50 Mbananas"})"),
       "devices[0].link='50 Mbananas': unknown unit 'Mbananas'"},
      {"bandwidth without unit", spec(R"({"name": "a", "link": 50})"),
       "devices[0].link=50: must be >= 1000 bits/s (forgot a unit?"},
      {"negative latency", spec(R"({"name": "a"})", R"("default_latency": "-2ms")"),
       "default_latency='-2ms': must be >= 0"},
      {"memory without unit", spec(R"({"name": "a", "memory": 2})"), "devices[0].memory=2"},
      {"busy below idle", spec(R"({"name": "a", "power": {"idle_w": 3, "busy_w": 2, "tx_w": 3}})"),
       "devices[0].power.busy_w=2: must be >= idle_w"},
      {"power missing field", spec(R"({"name": "a", "power": {"idle_w": 3, "busy_w": 4}})"),
       "devices[0].power.tx_w: missing"},
      {"deep nesting", std::string(10000, '[') + std::string(10000, ']'), "nested deeper than 16"},
      {"control characters", spec(R"({"name": "a\nb"})"), "devices[0].name='a?b'"},
  };
  for (const BadCase& c : cases) {
    const std::string err = parse_err(c.text);
    EXPECT_NE(err.find(c.expect), std::string::npos)
        << c.what << "\n  got:  " << err << "\n  want: " << c.expect;
    EXPECT_EQ(err.find('\n'), std::string::npos) << c.what << ": not one line: " << err;
    EXPECT_EQ(err.rfind("cluster 'x.json': ", 0), 0u) << c.what << ": " << err;
  }
}

TEST(Cluster, GarbageNeverCrashes) {
  const uint32_t seed = 7;
  std::mt19937 rng{seed};
  const std::string base = to_json(parse_ok(spec(
      R"({"name": "a", "link": "50Mbps", "power": {"idle_w": 1, "busy_w": 2, "tx_w": 2}}, {"name": "b"})",
      R"("links": [{"a": "a", "b": "b", "bandwidth": "1Gbps"}], "source": "a")")));
  for (int trial = 0; trial < 2000; ++trial) {
    std::string t = base;
    const int edits = 1 + int(rng() % 4);
    for (int e = 0; e < edits; ++e) {
      const size_t at = rng() % t.size();
      switch (rng() % 3) {
        case 0:
          t[at] = char(rng() % 128);
          break;
        case 1:
          t.erase(at, 1 + rng() % 8);
          break;
        default:
          t.insert(at, 1, "{}[]\",:-0e"[rng() % 10]);
          break;
      }
    }
    auto r = parse(t, "fuzz");  // must return, ok or not
    if (!r.ok()) {
      EXPECT_EQ(r.error().find('\n'), std::string::npos) << "seed " << seed << " trial " << trial;
    }
  }
}

TEST(Cluster, LoadResolvesProfiles) {
  const fs::path dir = fs::temp_directory_path() / "coinfer_cluster_test";
  fs::create_directories(dir / "profiles");
  { std::ofstream(dir / "profiles" / "pi.json") << "{}"; }
  { std::ofstream(dir / "c.json") << spec(R"({"name": "a", "profile": "profiles/pi.json"})"); }
  auto r = load((dir / "c.json").string());
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(fs::path(r->devices[0].profile), (dir / "profiles" / "pi.json").lexically_normal());

  { std::ofstream(dir / "bad.json") << spec(R"({"name": "a", "profile": "nope.json"})"); }
  auto bad = load((dir / "bad.json").string());
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().find("devices[0].profile='nope.json': no such file"), std::string::npos)
      << bad.error();

  auto missing = load((dir / "absent.json").string());
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().find("absent.json"), std::string::npos);
  fs::remove_all(dir);
}

}  // namespace
