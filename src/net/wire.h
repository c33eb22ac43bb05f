// Wire messages between coordinator and workers, and between workers.
//
// Every message is one ZeroMQ multipart message:
//   frame 0: header + fields, explicit little-endian, written field by field
//            (never a memcpy of a struct):
//              magic "CNFR" (4 bytes) | version u16 | type u16 | fields...
//   frame 1: payload, only for Band, Result (rows*w*c float32 LE, NHWC) and
//            Weights (the model file's bytes). It travels as its own frame so a
//            send hands the buffer to ZeroMQ without copying it.
// Strings are u32 length + bytes; bools are one byte, 0 or 1. The type
// numbers below are pinned: never renumber, only append before Count, and bump
// kProtocolVersion when a message's fields change.
//
// decode() trusts nothing: it checks magic, version, type, every length
// against the bytes left and the limits below, trailing bytes, frame counts,
// dims and the payload size, and answers any violation with an error Status
// naming the message, the field and the rule. It never asserts or throws.
//
// Usage:
//   ASSIGN_OR_RETURN(Frames f, encode(Message(std::move(band))));  // zero-copy
//   ASSIGN_OR_RETURN(Message m, decode(f));
//   if (auto* b = std::get_if<Band>(&m)) ...
#pragma once

#include <zmq.hpp>

#include <cstdint>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "core/status.h"
#include "core/tensor.h"

namespace coinfer::net {

inline constexpr char kMagic[4] = {'C', 'N', 'F', 'R'};
inline constexpr uint16_t kProtocolVersion = 1;
inline constexpr size_t kHeaderBytes = 8;  // magic + version + type

// Limits (bytes unless stated). A decoder rejects anything larger.
inline constexpr uint32_t kMaxStringBytes = 1u << 20;     // any string field
inline constexpr uint32_t kMaxPlanJsonBytes = 64u << 20;  // Deploy.plan_json
inline constexpr int kMaxDim = 1 << 16;                   // c, h, w each
inline constexpr uint64_t kMaxTensorBytes = 1ull << 30;   // c*h*w*4 of a value
inline constexpr uint64_t kMaxWeightsBytes = 2ull << 30;  // Weights payload
// Largest frame 0 (Deploy: plan JSON + four more strings + fixed fields).
inline constexpr uint64_t kMaxHeaderFrameBytes = kMaxPlanJsonBytes + 4ull * kMaxStringBytes + 256;

enum class MsgType : uint16_t {
  Hello = 1,
  HelloReply = 2,
  Deploy = 3,
  DeployReply = 4,
  Band = 5,
  Result = 6,
  Error = 7,
  Heartbeat = 8,
  Shutdown = 9,
  WeightsRequest = 10,
  Weights = 11,
  Count  // sentinel: one past the last type
};
const char* msg_type_name(MsgType t);  // "Band"; "?" outside [1, Count)

// Hello capability bits.
inline constexpr uint32_t kCapXnnpack = 1u << 0;      // runs the XNNPACK backend
inline constexpr uint32_t kCapWeightCache = 1u << 1;  // keeps weights by content hash

// Error.code values (a decoder accepts any u32: new codes may appear).
enum class ErrorCode : uint32_t {
  Unknown = 0,
  BadMessage = 1,   // a message failed to decode or arrived out of order
  NotDeployed = 2,  // a Band for a deployment this worker does not hold
  Execution = 3,    // a block failed to run
  Resources = 4,    // out of memory or a limit was hit
  Count
};

// Worker -> coordinator, first message on the control channel.
struct Hello {
  uint16_t protocol_version = kProtocolVersion;
  uint32_t capabilities = 0;  // kCap* bits
  std::string node_name;
  uint64_t free_memory = 0;  // bytes
  uint16_t threads = 0;
};

// Coordinator -> worker (also usable the other way round).
struct HelloReply {
  uint16_t protocol_version = kProtocolVersion;
  uint32_t capabilities = 0;
  std::string node_name;
  uint64_t free_memory = 0;
  uint16_t threads = 0;
  bool accepted = false;
  std::string reason;  // why not accepted; empty when accepted
};

// Coordinator -> worker: what to run.
struct Deploy {
  uint64_t deployment_id = 0;
  std::string model_spec;   // "zoo:vgg16" or a path
  std::string model_hash;   // content hash (sha256 hex), key of the weight cache
  std::string plan_json;    // the plan file's content, <= kMaxPlanJsonBytes
  std::string device_name;  // which of the plan's devices this worker is
};

struct DeployReply {
  uint64_t deployment_id = 0;
  bool ok = false;
  std::string error;
};

// A band of rows of one value. Frame 0 carries the fields and the tensor's
// geometry: row0 i32, rows i32, c i32, h i32, w i32, rank u8 (2 or 4; rank 2
// needs h = w = 1). Frame 1 carries tensor.data as rows*w*c float32 LE.
// Rules: 1 <= c, h, w <= kMaxDim; c*h*w*4 <= kMaxTensorBytes; rows >= 1;
// 0 <= row0; row0 + rows <= h.
struct BandFields {
  uint64_t deployment_id = 0;
  uint64_t frame_id = 0;
  uint32_t stage = 0;  // stage whose input (Band) or output (Result) this is
  uint32_t part = 0;   // sender's part index within its stage
  Tensor tensor;       // shape, row0, rows, data
};
struct Band : BandFields {};        // worker -> next stage's worker
struct ResultBand : BandFields {};  // MsgType::Result: last stage -> coordinator

struct Error {
  uint32_t code = 0;  // ErrorCode, or a newer one
  uint64_t frame_id = 0;
  std::string message;
};

struct Heartbeat {
  uint64_t sequence = 0;
  uint64_t time_ns = 0;  // sender's steady clock
};

struct Shutdown {};

struct WeightsRequest {
  std::string hash;
};

// Frame 1 carries `bytes` (the model file), <= kMaxWeightsBytes.
struct Weights {
  std::string hash;
  std::vector<uint8_t> bytes;
};

// Alternative i has MsgType i + 1.
using Message = std::variant<Hello, HelloReply, Deploy, DeployReply, Band, ResultBand, Error,
                             Heartbeat, Shutdown, WeightsRequest, Weights>;
static_assert(std::variant_size_v<Message> + 1 == size_t(MsgType::Count));

inline MsgType type_of(const Message& m) { return MsgType(m.index() + 1); }

using Frames = std::vector<zmq::message_t>;

// Encodes `msg` into its frames. Takes the message by value: pass it with
// std::move and the payload (Tensor data, Weights bytes) is handed to ZeroMQ
// without a copy (it is freed when ZeroMQ is done with it). Fails if the
// message breaks a rule a decoder would check.
Result<Frames> encode(Message msg);

// Decodes one message. The payload is copied once from its frame into the
// Tensor / byte vector (frames need not be aligned and may be reused).
Result<Message> decode(std::span<const zmq::message_t> frames);

// Little-endian writer for frame 0.
class ByteWriter {
 public:
  void u8(uint8_t v) { buf_.push_back(v); }
  void u16(uint16_t v) { put(v, 2); }
  void u32(uint32_t v) { put(v, 4); }
  void u64(uint64_t v) { put(v, 8); }
  void i32(int32_t v) { put(uint32_t(v), 4); }
  void boolean(bool v) { u8(v ? 1 : 0); }
  void str(std::string_view s);  // u32 length + bytes
  void bytes(const void* p, size_t n);
  std::vector<uint8_t>& buffer() { return buf_; }

 private:
  void put(uint64_t v, int n);
  std::vector<uint8_t> buf_;
};

// Bounds-checked little-endian reader with a sticky error: the first failed
// read records a Status naming `what` (the message) and the field; later reads
// return zeros and do nothing. Check status() (or finish()) before using values.
class ByteReader {
 public:
  ByteReader(std::span<const uint8_t> data, std::string what) : data_(data), what_(std::move(what)) {}
  uint8_t u8(const char* field) { return uint8_t(get(field, 1)); }
  uint16_t u16(const char* field) { return uint16_t(get(field, 2)); }
  uint32_t u32(const char* field) { return uint32_t(get(field, 4)); }
  uint64_t u64(const char* field) { return get(field, 8); }
  int32_t i32(const char* field) { return int32_t(uint32_t(get(field, 4))); }
  bool boolean(const char* field);                        // rejects values other than 0, 1
  std::string str(const char* field, uint32_t max_len);   // u32 length + bytes
  void fail(Status st) { if (st_.ok()) st_ = std::move(st); }
  size_t remaining() const { return data_.size() - pos_; }
  const Status& status() const { return st_; }
  Status finish();  // status(), or an error if bytes are left over

 private:
  uint64_t get(const char* field, int n);
  std::span<const uint8_t> data_;
  size_t pos_ = 0;
  std::string what_;
  Status st_;
};

}  // namespace coinfer::net
