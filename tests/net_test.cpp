// Wire format round trips and robustness; ZeroMQ loopback over inproc and tcp.
#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <random>

#include "net/io_cost.h"
#include "net/transport.h"
#include "net/wire.h"

using namespace coinfer;
using namespace coinfer::net;

namespace {

using Bytes = std::vector<uint8_t>;

Bytes bytes_of(const zmq::message_t& m) {
  const auto* p = m.data<uint8_t>();
  return Bytes(p, p + m.size());
}

Frames frames_of(const std::vector<Bytes>& parts) {
  Frames f;
  for (const Bytes& b : parts) f.emplace_back(b.data(), b.size());
  return f;
}

// Encodes a copy of `m` and returns the frames' bytes.
std::vector<Bytes> encoded(const Message& m) {
  Result<Frames> f = encode(m);
  EXPECT_TRUE(f.ok()) << f.error();
  std::vector<Bytes> out;
  if (f.ok())
    for (const auto& x : *f) out.push_back(bytes_of(x));
  return out;
}

Result<Message> decode_bytes(const std::vector<Bytes>& parts) {
  Frames f = frames_of(parts);
  return decode(f);
}

Tensor random_band(std::mt19937& rng, Shape s, int row0, int rows) {
  Tensor t(s, Rows{row0, row0 + rows});
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  for (float& v : t.data) v = u(rng);
  return t;
}

// One message of every type, in MsgType order.
std::vector<Message> samples() {
  std::mt19937 rng(7);
  Band band;
  band.deployment_id = 0x1122334455667788ull;
  band.frame_id = 42;
  band.stage = 3;
  band.part = 1;
  band.tensor = random_band(rng, Shape{8, 20, 6}, 5, 7);
  ResultBand result;
  result.deployment_id = 9;
  result.frame_id = 43;
  result.stage = 4;
  result.tensor = random_band(rng, Shape{1000, 1, 1, 2}, 0, 1);
  Weights weights{"ab12", Bytes(1000)};
  for (size_t i = 0; i < weights.bytes.size(); ++i) weights.bytes[i] = uint8_t(i * 7);
  return {Hello{kProtocolVersion, kCapXnnpack | kCapWeightCache, "pi-1", 4ull << 30, 4},
          HelloReply{kProtocolVersion, 0, "coordinator", 0, 2, false, "protocol too old"},
          Deploy{77, "zoo:vgg16", std::string(64, 'f'), R"({"version":1,"stages":[]})", "pi-1"},
          DeployReply{77, true, ""},
          band,
          result,
          Error{uint32_t(ErrorCode::Execution), 12, "conv 'c1': failed"},
          Heartbeat{0x0102030405060708ull, 0x1112131415161718ull},
          Shutdown{},
          WeightsRequest{"ab12"},
          weights};
}

void expect_same_tensor(const Tensor& a, const Tensor& b) {
  EXPECT_EQ(a.shape, b.shape);
  EXPECT_EQ(a.row0, b.row0);
  EXPECT_EQ(a.rows, b.rows);
  ASSERT_EQ(a.data.size(), b.data.size());
  EXPECT_EQ(0, std::memcmp(a.data.data(), b.data.data(), a.data.size() * sizeof(float)));
}

}  // namespace

TEST(NetWire, RoundTripEveryType) {
  std::vector<Message> all = samples();
  ASSERT_EQ(all.size() + 1, size_t(MsgType::Count));
  for (size_t i = 0; i < all.size(); ++i) {
    MsgType t = type_of(all[i]);
    SCOPED_TRACE(msg_type_name(t));
    EXPECT_EQ(size_t(t), i + 1);
    std::vector<Bytes> parts = encoded(all[i]);
    ASSERT_FALSE(parts.empty());
    ASSERT_GE(parts[0].size(), kHeaderBytes);
    EXPECT_EQ(0, std::memcmp(parts[0].data(), "CNFR", 4));
    EXPECT_EQ(parts[0][4] | parts[0][5] << 8, kProtocolVersion);
    EXPECT_EQ(parts[0][6] | parts[0][7] << 8, int(t));
    Result<Message> back = decode_bytes(parts);
    ASSERT_TRUE(back.ok()) << back.error();
    ASSERT_EQ(back->index(), all[i].index());
    // Every field is encoded, so equal encodings mean equal messages.
    EXPECT_EQ(encoded(*back), parts);
  }
  auto d = std::get<Deploy>(decode_bytes(encoded(all[2])).value());
  EXPECT_EQ(d.model_spec, "zoo:vgg16");
  EXPECT_EQ(d.plan_json, R"({"version":1,"stages":[]})");
  auto b = std::get<Band>(decode_bytes(encoded(all[4])).value());
  expect_same_tensor(b.tensor, std::get<Band>(all[4]).tensor);
  EXPECT_EQ(b.deployment_id, 0x1122334455667788ull);
  auto r = std::get<ResultBand>(decode_bytes(encoded(all[5])).value());
  EXPECT_EQ(r.tensor.shape.rank, 2);
  EXPECT_EQ(std::get<Weights>(decode_bytes(encoded(all[10])).value()).bytes, std::get<Weights>(all[10]).bytes);
}

TEST(NetWire, HeartbeatBytesAreLittleEndian) {
  std::vector<Bytes> parts = encoded(Heartbeat{0x0102030405060708ull, 0x1112131415161718ull});
  Bytes want = {'C', 'N', 'F', 'R', 1, 0, 8, 0, 8, 7, 6, 5, 4, 3, 2, 1,
                0x18, 0x17, 0x16, 0x15, 0x14, 0x13, 0x12, 0x11};
  ASSERT_EQ(parts.size(), 1u);
  EXPECT_EQ(parts[0], want);
}

TEST(NetWire, PayloadIsMovedNotCopied) {
  std::mt19937 rng(1);
  Band b;
  b.tensor = random_band(rng, Shape{16, 64, 64}, 0, 64);
  const float* data = b.tensor.data.data();
  Result<Frames> f = encode(Message(std::move(b)));
  ASSERT_TRUE(f.ok()) << f.error();
  ASSERT_EQ(f->size(), 2u);
  EXPECT_EQ((*f)[1].data(), static_cast<const void*>(data));
}

TEST(NetWire, RandomBytesNeverCrash) {
  const uint32_t seed = 20240601;
  std::mt19937 rng(seed);
  SCOPED_TRACE(testing::Message() << "seed " << seed);
  int decoded = 0;
  for (int it = 0; it < 10000; ++it) {
    std::vector<Bytes> parts(1 + rng() % 3);
    for (Bytes& p : parts) {
      p.resize(rng() % 80);
      for (uint8_t& x : p) x = uint8_t(rng());
    }
    bool framed = it % 2 == 1 && parts[0].size() >= kHeaderBytes;
    if (framed) {  // a valid header, so the body decoders get exercised
      std::memcpy(parts[0].data(), "CNFR\x01\x00", 6);
      parts[0][6] = uint8_t(1 + rng() % 11);
      parts[0][7] = 0;
    }
    Result<Message> m = decode_bytes(parts);
    if (!framed) {
      EXPECT_FALSE(m.ok()) << "iteration " << it;
    } else if (m.ok()) {  // the rare valid one re-encodes to the same bytes
      ++decoded;
      EXPECT_EQ(encoded(*m), parts) << "iteration " << it;
    }
  }
  EXPECT_LT(decoded, 1000);
}

TEST(NetWire, MutatedMessagesDecodeCanonicallyOrFail) {
  const uint32_t seed = 99;
  std::mt19937 rng(seed);
  SCOPED_TRACE(testing::Message() << "seed " << seed);
  std::vector<Message> all = samples();
  for (int it = 0; it < 5000; ++it) {
    std::vector<Bytes> parts = encoded(all[it % all.size()]);
    Bytes& h = parts[rng() % parts.size()];
    if (h.empty()) continue;
    for (int k = 1 + rng() % 3; k > 0; --k) h[rng() % h.size()] ^= uint8_t(1 << (rng() % 8));
    Result<Message> m = decode_bytes(parts);
    if (m.ok()) {
      EXPECT_EQ(encoded(*m), parts) << "iteration " << it;
    }
  }
}

TEST(NetWire, EveryTruncationFails) {
  for (const Message& msg : samples()) {
    SCOPED_TRACE(msg_type_name(type_of(msg)));
    std::vector<Bytes> parts = encoded(msg);
    for (size_t n = 0; n < parts[0].size(); ++n) {
      std::vector<Bytes> cut = parts;
      cut[0].resize(n);
      EXPECT_FALSE(decode_bytes(cut).ok()) << "header cut to " << n;
    }
    std::vector<Bytes> longer = parts;
    longer[0].push_back(0);
    Result<Message> m = decode_bytes(longer);
    ASSERT_FALSE(m.ok());
    EXPECT_NE(m.error().find("trailing"), std::string::npos) << m.error();
    if (parts.size() == 2) {
      for (size_t n : {size_t(0), size_t(1), parts[1].size() / 2, parts[1].size() - 1}) {
        std::vector<Bytes> cut = parts;
        cut[1].resize(n);
        if (type_of(msg) != MsgType::Weights) {
          EXPECT_FALSE(decode_bytes(cut).ok()) << n;
        }
      }
      EXPECT_FALSE(decode_bytes({parts[0]}).ok());
    }
    std::vector<Bytes> extra = parts;
    extra.push_back(Bytes{1, 2, 3});
    EXPECT_FALSE(decode_bytes(extra).ok());
  }
  EXPECT_FALSE(decode(Frames()).ok());
}

TEST(NetWire, BitFlipsInLengthFieldsFail) {
  Deploy d{5, "zoo:resnet34", "0123abcd", R"({"stages":[1,2,3]})", "dev-a"};
  std::vector<Bytes> parts = encoded(d);
  // header 8 + deployment_id 8, then u32 length + bytes per string.
  size_t off = 16;
  for (const std::string* s : {&d.model_spec, &d.model_hash, &d.plan_json, &d.device_name}) {
    for (int bit = 0; bit < 32; ++bit) {
      std::vector<Bytes> p = parts;
      p[0][off + bit / 8] ^= uint8_t(1 << (bit % 8));
      EXPECT_FALSE(decode_bytes(p).ok()) << "length at " << off << " bit " << bit;
    }
    off += 4 + s->size();
  }
  ASSERT_EQ(off, parts[0].size());

  // Band: rows at 36, c at 40, w at 48 all determine the payload size.
  std::mt19937 rng(3);
  Band b;
  b.tensor = random_band(rng, Shape{3, 16, 5}, 2, 9);
  parts = encoded(b);
  for (size_t field : {36, 40, 48}) {
    for (int bit = 0; bit < 32; ++bit) {
      std::vector<Bytes> p = parts;
      p[0][field + bit / 8] ^= uint8_t(1 << (bit % 8));
      EXPECT_FALSE(decode_bytes(p).ok()) << "field at " << field << " bit " << bit;
    }
  }
}

TEST(NetWire, WrongMagicVersionAndType) {
  std::vector<Bytes> parts = encoded(Shutdown{});
  std::vector<Bytes> p = parts;
  p[0][0] = 'X';
  Result<Message> m = decode_bytes(p);
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.error().find("magic"), std::string::npos) << m.error();
  p = parts;
  p[0][4] = 2;
  m = decode_bytes(p);
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.error(), "protocol version 2: this build speaks 1");
  for (int type : {0, int(MsgType::Count), 0xffff}) {
    p = parts;
    p[0][6] = uint8_t(type);
    p[0][7] = uint8_t(type >> 8);
    m = decode_bytes(p);
    ASSERT_FALSE(m.ok());
    EXPECT_NE(m.error().find("unknown"), std::string::npos) << m.error();
  }
}

TEST(NetWire, OversizedLengthsFail) {
  std::vector<Bytes> parts = encoded(WeightsRequest{"abc"});
  for (uint32_t len : {0xffffffffu, kMaxStringBytes + 1, 4u}) {
    std::vector<Bytes> p = parts;
    for (int i = 0; i < 4; ++i) p[0][8 + i] = uint8_t(len >> (8 * i));
    EXPECT_FALSE(decode_bytes(p).ok()) << len;
  }
  // A string really over the limit: refused by encode and by decode.
  std::string big(kMaxStringBytes + 1, 'x');
  EXPECT_FALSE(encode(Hello{1, 0, big, 0, 1}).ok());
  Bytes raw = {'C', 'N', 'F', 'R', 1, 0, 10, 0};
  ByteWriter w;
  w.str(big);
  raw.insert(raw.end(), w.buffer().begin(), w.buffer().end());
  Result<Message> m = decode_bytes({raw});
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.error().find("limit"), std::string::npos) << m.error();
  // The plan JSON has its own, larger limit.
  Deploy d;
  d.plan_json = std::string(2 * kMaxStringBytes, ' ');
  Result<Message> back = decode_bytes(encoded(d));
  ASSERT_TRUE(back.ok()) << back.error();
  EXPECT_EQ(std::get<Deploy>(*back).plan_json.size(), 2 * kMaxStringBytes);
}

TEST(NetWire, PayloadAndGeometryChecked) {
  std::mt19937 rng(11);
  Band b;
  b.tensor = random_band(rng, Shape{4, 10, 3}, 1, 2);
  std::vector<Bytes> parts = encoded(b);
  for (int delta : {-4, -1, 1, 4}) {
    std::vector<Bytes> p = parts;
    p[1].resize(p[1].size() + delta);
    Result<Message> m = decode_bytes(p);
    ASSERT_FALSE(m.ok());
    EXPECT_NE(m.error().find("payload"), std::string::npos) << m.error();
  }
  auto patch = [&](size_t off, int32_t v) {
    std::vector<Bytes> p = parts;
    for (int i = 0; i < 4; ++i) p[0][off + i] = uint8_t(uint32_t(v) >> (8 * i));
    return decode_bytes(p);
  };
  // Offsets in frame 0: row0 32, rows 36, c 40, h 44, w 48, rank 52.
  EXPECT_FALSE(patch(32, -1).ok());
  EXPECT_FALSE(patch(32, 9).ok());    // row0 + rows > h
  EXPECT_FALSE(patch(36, 0).ok());    // no rows
  EXPECT_FALSE(patch(40, 0).ok());    // c = 0
  EXPECT_FALSE(patch(44, (1 << 16) + 1).ok());
  EXPECT_FALSE(patch(44, -10).ok());
  EXPECT_TRUE(patch(44, 1 << 16).ok());
  std::vector<Bytes> p = parts;
  p[0][52] = 3;  // rank
  EXPECT_FALSE(decode_bytes(p).ok());

  Band bad = b;
  bad.tensor.data.pop_back();
  EXPECT_FALSE(encode(bad).ok());
  bad = b;
  bad.tensor.shape = Shape{1 << 16, 1 << 16, 1 << 16};  // far over 1 GiB
  EXPECT_FALSE(encode(bad).ok());
  DeployReply r{1, true, ""};
  p = encoded(r);
  p[0][16] = 2;  // a bool must be 0 or 1
  EXPECT_FALSE(decode_bytes(p).ok());
}

TEST(NetTransport, ParseEndpoint) {
  for (const char* ok : {"tcp://127.0.0.1:5555", "tcp://*:*", "tcp://node-1.local:1",
                         "tcp://[::1]:65535", "ipc:///tmp/coinfer.sock", "inproc://w0"}) {
    Result<Endpoint> e = parse_endpoint(ok);
    ASSERT_TRUE(e.ok()) << ok << ": " << e.error();
    EXPECT_EQ(e->str(), ok);
  }
  for (const char* bad : {"", "127.0.0.1:5555", "udp://h:1", "tcp://h", "tcp://h:0",
                          "tcp://h:65536", "tcp://h:12x", "tcp://:80", "tcp://h h:80", "ipc://",
                          "tcp://[::1:80", "inproc://"}) {
    Result<Endpoint> e = parse_endpoint(bad);
    ASSERT_FALSE(e.ok()) << bad;
    EXPECT_NE(e.error().find("expected tcp://HOST:PORT"), std::string::npos) << e.error();
  }
  EXPECT_FALSE(connect_band_output("tcp://*:80", std::nullopt).ok());
  EXPECT_FALSE(connect_band_output("tcp://127.0.0.1:*", std::nullopt).ok());
}

namespace {

std::string unique_inproc(const char* what) {
  static int n = 0;
  return fmt::format("inproc://net-test-{}-{}", what, n++);
}

void send_and_receive_band(const std::string& bind_endpoint) {
  Result<Socket> pull = bind_band_input(bind_endpoint, std::nullopt);
  ASSERT_TRUE(pull.ok()) << pull.error();
  Result<Socket> push = connect_band_output(pull->endpoint(), std::nullopt);
  ASSERT_TRUE(push.ok()) << push.error();
  std::mt19937 rng(5);
  Band b;
  b.deployment_id = 1;
  b.frame_id = 17;
  b.tensor = random_band(rng, Shape{64, 128, 64}, 32, 64);  // 1 MiB of floats
  ASSERT_EQ(b.tensor.data.size() * 4, size_t(1) << 20);
  Tensor want = b.tensor;
  Status st = push->send(std::move(b));
  ASSERT_TRUE(st.ok()) << st.message();
  Result<std::optional<Message>> m = pull->recv(5000);
  ASSERT_TRUE(m.ok()) << m.error();
  ASSERT_TRUE(m->has_value());
  const Band* got = std::get_if<Band>(&**m);
  ASSERT_NE(got, nullptr);
  EXPECT_EQ(got->frame_id, 17u);
  expect_same_tensor(got->tensor, want);
  EXPECT_EQ(push->stats().sent, 1u);
  EXPECT_EQ(pull->stats().received, 1u);
}

}  // namespace

TEST(NetTransport, BandLoopbackInproc) { send_and_receive_band(unique_inproc("band")); }

TEST(NetTransport, BandLoopbackTcp) {
  Result<Endpoint> e = parse_endpoint("tcp://127.0.0.1:*");  // any free port
  ASSERT_TRUE(e.ok());
  send_and_receive_band(e->str());
}

// The transport's CPU per byte, through CURVE on loopback TCP: something, and
// less than the 10 us per KB an idle machine would never approach.
TEST(NetTransport, IoCostIsMeasured) {
  auto r = net::measure_io_seconds_per_byte(1 << 18, 8);
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_GT(*r, 0);
  EXPECT_LT(*r, 1e-8);
  auto bad = net::measure_io_seconds_per_byte(100, 8);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().find("bytes >= 16384"), std::string::npos) << bad.error();
}

TEST(NetTransport, RecvTimeoutReturnsEmpty) {
  Result<Socket> pull = bind_band_input(unique_inproc("timeout"), std::nullopt);
  ASSERT_TRUE(pull.ok()) << pull.error();
  auto t0 = std::chrono::steady_clock::now();
  Result<std::optional<Message>> m = pull->recv(100);
  double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  ASSERT_TRUE(m.ok()) << m.error();
  EXPECT_FALSE(m->has_value());
  EXPECT_GE(ms, 90);
  EXPECT_LT(ms, 1000);
  EXPECT_FALSE(pull->recv(-1).ok());
}

TEST(NetTransport, GarbageIsCountedAndSkipped) {
  Result<Socket> pull = bind_band_input("tcp://127.0.0.1:*", std::nullopt);
  ASSERT_TRUE(pull.ok()) << pull.error();
  zmq::socket_t raw(context(), zmq::socket_type::push);
  raw.set(zmq::sockopt::linger, 0);
  raw.connect(pull->endpoint());
  raw.send(zmq::str_buffer("definitely not a coinfer message"));
  for (int i = 0; i < 5; ++i) raw.send(zmq::str_buffer("part"), zmq::send_flags::sndmore);
  raw.send(zmq::str_buffer("last"));
  Result<Socket> push = connect_band_output(pull->endpoint(), std::nullopt);
  ASSERT_TRUE(push.ok()) << push.error();

  Result<std::optional<Message>> m = pull->recv(5000);
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.error().find("magic"), std::string::npos) << m.error();
  m = pull->recv(5000);
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.error().find("frames"), std::string::npos) << m.error();
  EXPECT_EQ(pull->stats().garbage, 2u);
  ASSERT_TRUE(push->send(Heartbeat{3, 4}).ok());
  m = pull->recv(5000);
  ASSERT_TRUE(m.ok()) << m.error();
  ASSERT_TRUE(m->has_value());
  EXPECT_EQ(std::get<Heartbeat>(**m).sequence, 3u);
  EXPECT_EQ(pull->stats().received, 1u);
}

TEST(NetTransport, ControlRouterDealer) {
  Result<Socket> worker = bind_worker_control("tcp://127.0.0.1:*", std::nullopt);
  ASSERT_TRUE(worker.ok()) << worker.error();
  Result<Socket> coord = connect_control(worker->endpoint(), std::nullopt);
  ASSERT_TRUE(coord.ok()) << coord.error();
  ASSERT_TRUE(coord->send(Hello{kProtocolVersion, kCapXnnpack, "coord", 0, 1}).ok());
  Result<std::optional<Routed>> in = worker->recv_routed(5000);
  ASSERT_TRUE(in.ok()) << in.error();
  ASSERT_TRUE(in->has_value());
  EXPECT_EQ(std::get<Hello>((*in)->msg).node_name, "coord");
  Weights w{"h", Bytes(3 << 20, 0x5a)};
  ASSERT_TRUE(worker->send_to((*in)->peer, HelloReply{1, 0, "w0", 1, 2, true, ""}).ok());
  ASSERT_TRUE(worker->send_to((*in)->peer, w).ok());
  Result<std::optional<Message>> r = coord->recv(5000);
  ASSERT_TRUE(r.ok() && r->has_value()) << r.error();
  EXPECT_TRUE(std::get<HelloReply>(**r).accepted);
  r = coord->recv(5000);
  ASSERT_TRUE(r.ok() && r->has_value()) << r.error();
  EXPECT_EQ(std::get<Weights>(**r).bytes, w.bytes);

  EXPECT_FALSE(worker->send_to("no such peer", Shutdown{}).ok());
  EXPECT_EQ(worker->stats().dropped, 1u);
  EXPECT_FALSE(worker->send(Shutdown{}).ok());
  EXPECT_FALSE(worker->recv(0).ok());
  EXPECT_FALSE(coord->recv_routed(0).ok());
}

TEST(NetTransport, SendWithoutPeerTimesOut) {
  SocketOptions o = band_options();
  o.immediate = true;
  o.send_timeout_ms = 100;
  // Nothing listens on port 1; IMMEDIATE keeps the message from queueing.
  Result<Socket> push =
      Socket::open(zmq::socket_type::push, Socket::Mode::Connect, "tcp://127.0.0.1:1", o);
  ASSERT_TRUE(push.ok()) << push.error();
  auto t0 = std::chrono::steady_clock::now();
  Status st = push->send(Heartbeat{});
  double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_FALSE(st.ok());
  EXPECT_EQ(push->stats().dropped, 1u);
  EXPECT_LT(ms, 2000);
}
