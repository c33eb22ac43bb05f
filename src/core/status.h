// Status / Result<T>: the error type at every boundary (files, ONNX, planners,
// network). An error is one line naming the thing and the rule it broke, e.g.
// "conv 'layer3.0.conv1': stride_h=0: must be > 0".
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <variant>

#include <fmt/format.h>

namespace coinfer {

class Status {
 public:
  Status() = default;
  static Status error(std::string msg) {
    Status s;
    s.msg_ = std::move(msg);
    s.failed_ = true;
    return s;
  }
  bool ok() const { return !failed_; }
  const std::string& message() const { return msg_; }

 private:
  std::string msg_;
  bool failed_ = false;
};

inline Status ok_status() { return Status(); }

template <typename... Args>
Status errorf(fmt::format_string<Args...> f, Args&&... args) {
  return Status::error(fmt::format(f, std::forward<Args>(args)...));
}

template <typename T>
class Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status st) : v_(std::move(st)) {}   // NOLINT: must be an error
  bool ok() const { return v_.index() == 0; }
  T& value() & { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  const T& value() const& { return std::get<0>(v_); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  Status status() const { return ok() ? Status() : std::get<1>(v_); }
  const std::string& error() const { return std::get<1>(v_).message(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace coinfer

#define COINFER_CONCAT_(a, b) a##b
#define COINFER_CONCAT(a, b) COINFER_CONCAT_(a, b)

// Propagates a failed Status.
#define RETURN_IF_ERROR(expr)                  \
  do {                                         \
    ::coinfer::Status _st = (expr);            \
    if (!_st.ok()) return _st;                 \
  } while (0)

// ASSIGN_OR_RETURN(auto x, f()): unwraps a Result or propagates its error.
#define ASSIGN_OR_RETURN(lhs, expr)                                  \
  auto COINFER_CONCAT(_res_, __LINE__) = (expr);                     \
  if (!COINFER_CONCAT(_res_, __LINE__).ok())                         \
    return COINFER_CONCAT(_res_, __LINE__).status();                 \
  lhs = std::move(COINFER_CONCAT(_res_, __LINE__)).value()
