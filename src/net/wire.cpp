#include "net/wire.h"

#include <array>
#include <bit>
#include <cstring>
#include <memory>
#include <utility>

namespace coinfer::net {

namespace {

constexpr std::array<const char*, size_t(MsgType::Count)> kTypeNames = {
    "?",         "Hello",     "HelloReply", "Deploy",   "DeployReply",    "Band",
    "Result",    "Error",     "Heartbeat",  "Shutdown", "WeightsRequest", "Weights"};
static_assert(kTypeNames.size() == size_t(MsgType::Count));

bool has_payload(MsgType t) {
  return t == MsgType::Band || t == MsgType::Result || t == MsgType::Weights;
}

// Floats travel little-endian; on a big-endian host swap them in place.
void to_from_le(std::vector<float>& v) {
  if constexpr (std::endian::native == std::endian::big) {
    for (float& f : v) f = std::bit_cast<float>(__builtin_bswap32(std::bit_cast<uint32_t>(f)));
  }
}

// A frame that owns `v`: the vector moves to the heap and ZeroMQ frees it when
// the last reference to the frame is gone (possibly on its I/O thread).
template <typename T>
zmq::message_t take_frame(std::vector<T>&& v) {
  if (v.empty()) return zmq::message_t();
  auto holder = std::make_unique<std::vector<T>>(std::move(v));
  void* data = holder->data();
  size_t size = holder->size() * sizeof(T);
  zmq::message_t m(
      data, size, +[](void*, void* hint) { delete static_cast<std::vector<T>*>(hint); },
      holder.get());
  holder.release();
  return m;
}

// The geometry rules of a Band / Result (see wire.h).
Status check_geometry(const char* what, const Tensor& t) {
  const Shape& s = t.shape;
  for (auto [name, v] : {std::pair{"c", s.c}, std::pair{"h", s.h}, std::pair{"w", s.w}}) {
    if (v < 1 || v > kMaxDim) return errorf("{}: {}={}: must be in [1, {}]", what, name, v, kMaxDim);
  }
  if (s.rank != 2 && s.rank != 4) return errorf("{}: rank={}: must be 2 or 4", what, s.rank);
  if (s.rank == 2 && (s.h != 1 || s.w != 1))
    return errorf("{}: rank 2 with h={} w={}: must be 1", what, s.h, s.w);
  uint64_t bytes = uint64_t(s.c) * uint64_t(s.h) * uint64_t(s.w) * 4;
  if (bytes > kMaxTensorBytes)
    return errorf("{}: shape {} is {} bytes: limit {}", what, s.str(), bytes, kMaxTensorBytes);
  if (t.row0 < 0) return errorf("{}: row0={}: must be >= 0", what, t.row0);
  if (t.rows < 1) return errorf("{}: rows={}: must be >= 1", what, t.rows);
  if (int64_t(t.row0) + t.rows > s.h)
    return errorf("{}: rows [{}, {}) exceed h={}", what, t.row0, int64_t(t.row0) + t.rows, s.h);
  return ok_status();
}

uint64_t band_payload_bytes(const Tensor& t) {
  return uint64_t(t.rows) * uint64_t(t.shape.w) * uint64_t(t.shape.c) * 4;
}

Status check_string(const char* what, const char* field, const std::string& s, uint32_t max) {
  if (s.size() > max)
    return errorf("{}: field '{}': length {} exceeds the limit {}", what, field, s.size(), max);
  return ok_status();
}

// ---- encoding: one write_fields per type; returns the payload frame if any.

using Payload = std::optional<zmq::message_t>;

Status write_fields(ByteWriter& w, Hello& m, Payload&) {
  RETURN_IF_ERROR(check_string("Hello", "node_name", m.node_name, kMaxStringBytes));
  w.u16(m.protocol_version);
  w.u32(m.capabilities);
  w.str(m.node_name);
  w.u64(m.free_memory);
  w.u16(m.threads);
  return ok_status();
}

Status write_fields(ByteWriter& w, HelloReply& m, Payload&) {
  RETURN_IF_ERROR(check_string("HelloReply", "node_name", m.node_name, kMaxStringBytes));
  RETURN_IF_ERROR(check_string("HelloReply", "reason", m.reason, kMaxStringBytes));
  w.u16(m.protocol_version);
  w.u32(m.capabilities);
  w.str(m.node_name);
  w.u64(m.free_memory);
  w.u16(m.threads);
  w.boolean(m.accepted);
  w.str(m.reason);
  return ok_status();
}

Status write_fields(ByteWriter& w, Deploy& m, Payload&) {
  RETURN_IF_ERROR(check_string("Deploy", "model_spec", m.model_spec, kMaxStringBytes));
  RETURN_IF_ERROR(check_string("Deploy", "model_hash", m.model_hash, kMaxStringBytes));
  RETURN_IF_ERROR(check_string("Deploy", "plan_json", m.plan_json, kMaxPlanJsonBytes));
  RETURN_IF_ERROR(check_string("Deploy", "device_name", m.device_name, kMaxStringBytes));
  w.u64(m.deployment_id);
  w.str(m.model_spec);
  w.str(m.model_hash);
  w.str(m.plan_json);
  w.str(m.device_name);
  return ok_status();
}

Status write_fields(ByteWriter& w, DeployReply& m, Payload&) {
  RETURN_IF_ERROR(check_string("DeployReply", "error", m.error, kMaxStringBytes));
  w.u64(m.deployment_id);
  w.boolean(m.ok);
  w.str(m.error);
  return ok_status();
}

Status write_band(const char* what, ByteWriter& w, BandFields& m, Payload& payload) {
  Tensor& t = m.tensor;
  RETURN_IF_ERROR(check_geometry(what, t));
  if (uint64_t(t.data.size()) * 4 != band_payload_bytes(t))
    return errorf("{}: tensor holds {} floats: expected rows*w*c = {}", what, t.data.size(),
                  band_payload_bytes(t) / 4);
  w.u64(m.deployment_id);
  w.u64(m.frame_id);
  w.u32(m.stage);
  w.u32(m.part);
  w.i32(t.row0);
  w.i32(t.rows);
  w.i32(t.shape.c);
  w.i32(t.shape.h);
  w.i32(t.shape.w);
  w.u8(uint8_t(t.shape.rank));
  to_from_le(t.data);
  payload = take_frame(std::move(t.data));
  return ok_status();
}
Status write_fields(ByteWriter& w, Band& m, Payload& p) { return write_band("Band", w, m, p); }
Status write_fields(ByteWriter& w, ResultBand& m, Payload& p) { return write_band("Result", w, m, p); }

Status write_fields(ByteWriter& w, Error& m, Payload&) {
  RETURN_IF_ERROR(check_string("Error", "message", m.message, kMaxStringBytes));
  w.u32(m.code);
  w.u64(m.frame_id);
  w.str(m.message);
  return ok_status();
}

Status write_fields(ByteWriter& w, Heartbeat& m, Payload&) {
  w.u64(m.sequence);
  w.u64(m.time_ns);
  return ok_status();
}

Status write_fields(ByteWriter&, Shutdown&, Payload&) { return ok_status(); }

Status write_fields(ByteWriter& w, WeightsRequest& m, Payload&) {
  RETURN_IF_ERROR(check_string("WeightsRequest", "hash", m.hash, kMaxStringBytes));
  w.str(m.hash);
  return ok_status();
}

Status write_fields(ByteWriter& w, Weights& m, Payload& payload) {
  RETURN_IF_ERROR(check_string("Weights", "hash", m.hash, kMaxStringBytes));
  if (m.bytes.size() > kMaxWeightsBytes)
    return errorf("Weights: payload of {} bytes: limit {}", m.bytes.size(), kMaxWeightsBytes);
  w.str(m.hash);
  payload = take_frame(std::move(m.bytes));
  return ok_status();
}

// ---- decoding: one read_fields per type; `payload` is frame 1 or null.

Status read_fields(ByteReader& r, Hello& m, const zmq::message_t*) {
  m.protocol_version = r.u16("protocol_version");
  m.capabilities = r.u32("capabilities");
  m.node_name = r.str("node_name", kMaxStringBytes);
  m.free_memory = r.u64("free_memory");
  m.threads = r.u16("threads");
  return r.finish();
}

Status read_fields(ByteReader& r, HelloReply& m, const zmq::message_t*) {
  m.protocol_version = r.u16("protocol_version");
  m.capabilities = r.u32("capabilities");
  m.node_name = r.str("node_name", kMaxStringBytes);
  m.free_memory = r.u64("free_memory");
  m.threads = r.u16("threads");
  m.accepted = r.boolean("accepted");
  m.reason = r.str("reason", kMaxStringBytes);
  return r.finish();
}

Status read_fields(ByteReader& r, Deploy& m, const zmq::message_t*) {
  m.deployment_id = r.u64("deployment_id");
  m.model_spec = r.str("model_spec", kMaxStringBytes);
  m.model_hash = r.str("model_hash", kMaxStringBytes);
  m.plan_json = r.str("plan_json", kMaxPlanJsonBytes);
  m.device_name = r.str("device_name", kMaxStringBytes);
  return r.finish();
}

Status read_fields(ByteReader& r, DeployReply& m, const zmq::message_t*) {
  m.deployment_id = r.u64("deployment_id");
  m.ok = r.boolean("ok");
  m.error = r.str("error", kMaxStringBytes);
  return r.finish();
}

Status read_band(const char* what, ByteReader& r, BandFields& m, const zmq::message_t* payload) {
  Tensor& t = m.tensor;
  m.deployment_id = r.u64("deployment_id");
  m.frame_id = r.u64("frame_id");
  m.stage = r.u32("stage");
  m.part = r.u32("part");
  t.row0 = r.i32("row0");
  t.rows = r.i32("rows");
  t.shape.c = r.i32("c");
  t.shape.h = r.i32("h");
  t.shape.w = r.i32("w");
  t.shape.rank = r.u8("rank");
  RETURN_IF_ERROR(r.finish());
  RETURN_IF_ERROR(check_geometry(what, t));
  uint64_t expect = band_payload_bytes(t);
  if (payload->size() != expect)
    return errorf("{}: payload of {} bytes: expected rows*w*c*4 = {}", what, payload->size(),
                  expect);
  t.data.resize(expect / 4);
  std::memcpy(t.data.data(), payload->data(), expect);  // the one receive-side copy
  to_from_le(t.data);
  return ok_status();
}
Status read_fields(ByteReader& r, Band& m, const zmq::message_t* p) {
  return read_band("Band", r, m, p);
}
Status read_fields(ByteReader& r, ResultBand& m, const zmq::message_t* p) {
  return read_band("Result", r, m, p);
}

Status read_fields(ByteReader& r, Error& m, const zmq::message_t*) {
  m.code = r.u32("code");
  m.frame_id = r.u64("frame_id");
  m.message = r.str("message", kMaxStringBytes);
  return r.finish();
}

Status read_fields(ByteReader& r, Heartbeat& m, const zmq::message_t*) {
  m.sequence = r.u64("sequence");
  m.time_ns = r.u64("time_ns");
  return r.finish();
}

Status read_fields(ByteReader& r, Shutdown&, const zmq::message_t*) { return r.finish(); }

Status read_fields(ByteReader& r, WeightsRequest& m, const zmq::message_t*) {
  m.hash = r.str("hash", kMaxStringBytes);
  return r.finish();
}

Status read_fields(ByteReader& r, Weights& m, const zmq::message_t* payload) {
  m.hash = r.str("hash", kMaxStringBytes);
  RETURN_IF_ERROR(r.finish());
  if (payload->size() > kMaxWeightsBytes)
    return errorf("Weights: payload of {} bytes: limit {}", payload->size(), kMaxWeightsBytes);
  const auto* p = payload->data<uint8_t>();
  m.bytes.assign(p, p + payload->size());
  return ok_status();
}

using DecodeFn = Result<Message> (*)(ByteReader&, const zmq::message_t*);

template <typename T>
Result<Message> decode_as(ByteReader& r, const zmq::message_t* payload) {
  T m;
  RETURN_IF_ERROR(read_fields(r, m, payload));
  return Message(std::move(m));
}

template <size_t... I>
constexpr auto make_decoders(std::index_sequence<I...>) {
  return std::array<DecodeFn, sizeof...(I)>{&decode_as<std::variant_alternative_t<I, Message>>...};
}
constexpr auto kDecoders = make_decoders(std::make_index_sequence<std::variant_size_v<Message>>());

Result<Message> decode_impl(std::span<const zmq::message_t> frames) {
  if (frames.empty()) return Status::error("message: no frames");
  const zmq::message_t& f0 = frames[0];
  if (f0.size() < kHeaderBytes)
    return errorf("message: header frame of {} bytes: needs at least {}", f0.size(), kHeaderBytes);
  if (f0.size() > kMaxHeaderFrameBytes)
    return errorf("message: header frame of {} bytes: limit {}", f0.size(), kMaxHeaderFrameBytes);
  std::span<const uint8_t> bytes(f0.data<uint8_t>(), f0.size());
  if (std::memcmp(bytes.data(), kMagic, sizeof(kMagic)) != 0)
    return errorf("message: bad magic {:02x} {:02x} {:02x} {:02x}: expected \"CNFR\"", bytes[0],
                  bytes[1], bytes[2], bytes[3]);
  ByteReader head(bytes.subspan(4, 4), "message");
  uint16_t version = head.u16("version");
  uint16_t type = head.u16("type");
  if (version != kProtocolVersion)
    return errorf("protocol version {}: this build speaks {}", version, kProtocolVersion);
  if (type == 0 || type >= uint16_t(MsgType::Count))
    return errorf("message type {}: unknown (this build knows 1..{})", type,
                  uint16_t(MsgType::Count) - 1);
  MsgType t = MsgType(type);
  size_t want = has_payload(t) ? 2 : 1;
  if (frames.size() != want)
    return errorf("{}: {} frames: expected {}", msg_type_name(t), frames.size(), want);
  ByteReader body(bytes.subspan(kHeaderBytes), msg_type_name(t));
  return kDecoders[type - 1](body, want == 2 ? &frames[1] : nullptr);
}

}  // namespace

const char* msg_type_name(MsgType t) {
  size_t i = size_t(t);
  return i < kTypeNames.size() ? kTypeNames[i] : "?";
}

void ByteWriter::put(uint64_t v, int n) {
  for (int i = 0; i < n; ++i) buf_.push_back(uint8_t(v >> (8 * i)));
}

void ByteWriter::str(std::string_view s) {
  u32(uint32_t(s.size()));
  bytes(s.data(), s.size());
}

void ByteWriter::bytes(const void* p, size_t n) {
  const auto* b = static_cast<const uint8_t*>(p);
  buf_.insert(buf_.end(), b, b + n);
}

uint64_t ByteReader::get(const char* field, int n) {
  if (!st_.ok()) return 0;
  if (remaining() < size_t(n)) {
    fail(errorf("{}: field '{}' truncated: needs {} bytes, {} left", what_, field, n, remaining()));
    return 0;
  }
  uint64_t v = 0;
  for (int i = 0; i < n; ++i) v |= uint64_t(data_[pos_ + i]) << (8 * i);
  pos_ += n;
  return v;
}

bool ByteReader::boolean(const char* field) {
  uint8_t v = u8(field);
  if (v > 1) fail(errorf("{}: field '{}' = {}: a bool must be 0 or 1", what_, field, v));
  return v == 1;
}

std::string ByteReader::str(const char* field, uint32_t max_len) {
  uint32_t n = u32(field);
  if (!st_.ok()) return {};
  if (n > max_len) {
    fail(errorf("{}: field '{}': length {} exceeds the limit {}", what_, field, n, max_len));
    return {};
  }
  if (n > remaining()) {
    fail(errorf("{}: field '{}': length {} exceeds the {} bytes left", what_, field, n,
                remaining()));
    return {};
  }
  std::string s(reinterpret_cast<const char*>(data_.data() + pos_), n);
  pos_ += n;
  return s;
}

Status ByteReader::finish() {
  if (st_.ok() && remaining() != 0) fail(errorf("{}: {} trailing bytes", what_, remaining()));
  return st_;
}

Result<Frames> encode(Message msg) {
  MsgType t = type_of(msg);
  try {
    ByteWriter w;
    w.bytes(kMagic, sizeof(kMagic));
    w.u16(kProtocolVersion);
    w.u16(uint16_t(t));
    Payload payload;
    RETURN_IF_ERROR(std::visit([&](auto& m) { return write_fields(w, m, payload); }, msg));
    Frames frames;
    std::vector<uint8_t>& head = w.buffer();
    if (head.size() <= (64u << 10)) {
      frames.emplace_back(head.data(), head.size());  // small: a copy is cheaper than a holder
    } else {
      frames.push_back(take_frame(std::move(head)));
    }
    if (payload) frames.push_back(std::move(*payload));
    return frames;
  } catch (const std::exception& e) {  // bad_alloc, zmq::error_t
    return errorf("{}: encode failed: {}", msg_type_name(t), e.what());
  }
}

Result<Message> decode(std::span<const zmq::message_t> frames) {
  try {
    return decode_impl(frames);
  } catch (const std::exception& e) {  // bad_alloc on a large payload
    return errorf("message: decode failed: {}", e.what());
  }
}

}  // namespace coinfer::net
