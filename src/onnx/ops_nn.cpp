// ONNX op converters with weights or windows: Conv, BatchNormalization,
// MaxPool, AveragePool, GlobalAveragePool, Gemm, MatMul.
#include <cmath>

#include "onnx/converter.h"

namespace coinfer::onnx_io::detail {

using graph::Node;
using graph::OpKind;

namespace {

constexpr int kMaxWindow = 1 << 16;  // kernel, stride, dilation and pad limit

Result<int> rank4_input(Converter& c, int k) {
  ASSIGN_OR_RETURN(int x, c.runtime_input(k));
  if (c.shape_of(x).rank != 4)
    return c.fail("input {}: needs a 4-D NCHW input", c.shape_of(x).str());
  return x;
}

// Padding of one axis for auto_pad SAME_UPPER / SAME_LOWER: the output is
// ceil(in / stride); SAME_UPPER puts the odd pixel at the end.
Status same_pad(Converter& c, int in, int k, int s, int d, bool upper, int& p0, int& p1) {
  int64_t out = (int64_t(in) + s - 1) / s;
  int64_t total = std::max<int64_t>(0, (out - 1) * s + int64_t(k - 1) * d + 1 - in);
  if (total > 2 * int64_t(kMaxWindow)) return c.fail("auto_pad gives padding {}: too large", total);
  int64_t small = total / 2;
  p0 = int(upper ? small : total - small);
  p1 = int(total - p0);
  return ok_status();
}

// Reads strides, dilations, pads and auto_pad into `w`, whose kernel is set.
Status read_window(Converter& c, const Shape& x, bool dilations_allowed, graph::Window& w) {
  ASSIGN_OR_RETURN(std::vector<int64_t> strides, c.attr_ints("strides"));
  ASSIGN_OR_RETURN(std::vector<int64_t> dilations, c.attr_ints("dilations"));
  ASSIGN_OR_RETURN(std::vector<int64_t> pads, c.attr_ints("pads"));
  ASSIGN_OR_RETURN(std::string auto_pad, c.attr_string("auto_pad", "NOTSET"));
  auto count = [&](const char* name, const std::vector<int64_t>& v, size_t n) -> Status {
    if (!v.empty() && v.size() != n)
      return c.fail("attribute {} has {} values: needs {}", name, v.size(), n);
    return ok_status();
  };
  RETURN_IF_ERROR(count("strides", strides, 2));
  RETURN_IF_ERROR(count("dilations", dilations, 2));
  RETURN_IF_ERROR(count("pads", pads, 4));
  if (!strides.empty()) {
    ASSIGN_OR_RETURN(w.sh, c.small_int(strides[0], "strides[0]", 1, kMaxWindow));
    ASSIGN_OR_RETURN(w.sw, c.small_int(strides[1], "strides[1]", 1, kMaxWindow));
  }
  if (!dilations.empty()) {
    ASSIGN_OR_RETURN(w.dh, c.small_int(dilations[0], "dilations[0]", 1, kMaxWindow));
    ASSIGN_OR_RETURN(w.dw, c.small_int(dilations[1], "dilations[1]", 1, kMaxWindow));
    if (!dilations_allowed && (w.dh != 1 || w.dw != 1))
      return c.fail("dilations {}x{}: only 1 is supported", w.dh, w.dw);
  }
  if (int64_t(w.kh - 1) * w.dh + 1 > kMaxWindow || int64_t(w.kw - 1) * w.dw + 1 > kMaxWindow)
    return c.fail("kernel {}x{} with dilation {}x{}: window larger than {}", w.kh, w.kw, w.dh, w.dw,
                  kMaxWindow);
  bool any_pad = false;
  for (int64_t p : pads) any_pad |= p != 0;
  if (auto_pad == "NOTSET") {
    if (pads.empty()) return ok_status();
    ASSIGN_OR_RETURN(w.pt, c.small_int(pads[0], "pads[0]", 0, kMaxWindow));
    ASSIGN_OR_RETURN(w.pl, c.small_int(pads[1], "pads[1]", 0, kMaxWindow));
    ASSIGN_OR_RETURN(w.pb, c.small_int(pads[2], "pads[2]", 0, kMaxWindow));
    ASSIGN_OR_RETURN(w.pr, c.small_int(pads[3], "pads[3]", 0, kMaxWindow));
    return ok_status();
  }
  if (any_pad) return c.fail("auto_pad {} and explicit pads: use one of them", auto_pad);
  if (auto_pad == "VALID") return ok_status();
  if (auto_pad != "SAME_UPPER" && auto_pad != "SAME_LOWER")
    return c.fail("auto_pad '{}': needs NOTSET, VALID, SAME_UPPER or SAME_LOWER", auto_pad);
  bool upper = auto_pad == "SAME_UPPER";
  RETURN_IF_ERROR(same_pad(c, x.h, w.kh, w.sh, w.dh, upper, w.pt, w.pb));
  return same_pad(c, x.w, w.kw, w.sw, w.dw, upper, w.pl, w.pr);
}

// Windows along one axis, as graph/shape.cpp counts them.
int window_count(int in, int k, int s, int d, int p0, int p1, bool ceil_mode) {
  int span = in + p0 + p1 - d * (k - 1) - 1;
  if (span < 0) return 0;
  int out = ceil_mode ? (span + s - 1) / s + 1 : span / s + 1;
  if (ceil_mode && (out - 1) * s >= in + p0) --out;
  return out;
}

// Exports before opset 10 express ceil_mode as extra end padding, which may
// reach the window size (the IR wants pads < window). End padding only sets
// how many windows there are (max ignores it, and so does an average that
// excludes padding), so trade it for the smallest pads and a ceil_mode that
// give the same counts.
Status fit_end_pads(Converter& c, const Shape& x, graph::Window& w) {
  const int eh = (w.kh - 1) * w.dh + 1, ew = (w.kw - 1) * w.dw + 1;
  if (w.pb < eh && w.pr < ew) return ok_status();
  const int oh = window_count(x.h, w.kh, w.sh, w.dh, w.pt, w.pb, w.ceil_mode);
  const int ow = window_count(x.w, w.kw, w.sw, w.dw, w.pl, w.pr, w.ceil_mode);
  for (bool ceil_mode : {false, true}) {
    int pb = -1, pr = -1;
    for (int p = 0; p < eh && pb < 0; ++p)
      if (window_count(x.h, w.kh, w.sh, w.dh, w.pt, p, ceil_mode) == oh) pb = p;
    for (int p = 0; p < ew && pr < 0; ++p)
      if (window_count(x.w, w.kw, w.sw, w.dw, w.pl, p, ceil_mode) == ow) pr = p;
    if (pb >= 0 && pr >= 0) {
      w.pb = pb;
      w.pr = pr;
      w.ceil_mode = ceil_mode;
      return ok_status();
    }
  }
  return c.fail("pads [{},{},{},{}]: a window lies wholly in the padding", w.pt, w.pl, w.pb, w.pr);
}

Status add_and_bind(Converter& c, Node n) {
  ASSIGN_OR_RETURN(int id, c.add_node(std::move(n)));
  c.bind_output(0, id);
  return ok_status();
}

Status convert_pool(Converter& c, OpKind kind) {
  ASSIGN_OR_RETURN(int x, rank4_input(c, 0));
  Node n;
  n.kind = kind;
  n.inputs = {x};
  ASSIGN_OR_RETURN(std::vector<int64_t> ks, c.attr_ints("kernel_shape"));
  if (ks.size() != 2) return c.fail("attribute kernel_shape has {} values: needs 2", ks.size());
  ASSIGN_OR_RETURN(n.win.kh, c.small_int(ks[0], "kernel_shape[0]", 1, kMaxWindow));
  ASSIGN_OR_RETURN(n.win.kw, c.small_int(ks[1], "kernel_shape[1]", 1, kMaxWindow));
  RETURN_IF_ERROR(read_window(c, c.shape_of(x), kind == OpKind::MaxPool, n.win));
  ASSIGN_OR_RETURN(int64_t ceil_mode, c.attr_int("ceil_mode", 0));
  ASSIGN_OR_RETURN(n.win.ceil_mode, c.small_int(ceil_mode, "ceil_mode", 0, 1));
  if (kind == OpKind::AvgPool) {
    ASSIGN_OR_RETURN(int64_t cip, c.attr_int("count_include_pad", 0));
    ASSIGN_OR_RETURN(n.win.count_include_pad, c.small_int(cip, "count_include_pad", 0, 1));
  }
  if (!n.win.count_include_pad) RETURN_IF_ERROR(fit_end_pads(c, c.shape_of(x), n.win));
  return add_and_bind(c, std::move(n));
}

}  // namespace

Status convert_conv(Converter& c) {
  ASSIGN_OR_RETURN(int x, rank4_input(c, 0));
  const Shape xs = c.shape_of(x);
  ASSIGN_OR_RETURN(ConstPtr W, c.float_input(1, "weight"));
  const std::vector<int64_t>& wd = W->dims;
  if (wd.size() != 4)
    return c.fail("weight {}: needs 4 dims [O,I/group,KH,KW] (only 2-D convolution)", dims_str(wd));
  ASSIGN_OR_RETURN(int64_t group, c.attr_int("group", 1));
  ASSIGN_OR_RETURN(int groups, c.small_int(group, "group", 1, xs.c));
  const int64_t O = wd[0], I = wd[1], KH = wd[2], KW = wd[3];
  if (O < 1 || I < 1 || KH < 1 || KW < 1 || KH > kMaxWindow || KW > kMaxWindow)
    return c.fail("weight {}: empty or oversized kernel", dims_str(wd));
  if (I * groups != xs.c)
    return c.fail("weight {} with group={} needs {} input channels: input {} has {}", dims_str(wd),
                  groups, I * groups, xs.str(), xs.c);
  if (O % groups != 0)
    return c.fail("weight {}: {} output channels: must be a multiple of group={}", dims_str(wd), O,
                  groups);
  ASSIGN_OR_RETURN(std::vector<int64_t> ks, c.attr_ints("kernel_shape"));
  if (!ks.empty() && (ks.size() != 2 || ks[0] != KH || ks[1] != KW))
    return c.fail("attribute kernel_shape {} does not match weight {}", dims_str(ks), dims_str(wd));
  Node n;
  n.kind = OpKind::Conv;
  n.inputs = {x};
  n.groups = groups;
  n.win.kh = int(KH);
  n.win.kw = int(KW);
  RETURN_IF_ERROR(read_window(c, xs, true, n.win));
  // OIHW -> OHWI
  n.weight.resize(W->f.size());
  for (int64_t o = 0; o < O; ++o)
    for (int64_t i = 0; i < I; ++i)
      for (int64_t y = 0; y < KH; ++y)
        for (int64_t z = 0; z < KW; ++z)
          n.weight[size_t(((o * KH + y) * KW + z) * I + i)] =
              W->f[size_t(((o * I + i) * KH + y) * KW + z)];
  if (c.has_input(2)) {
    ASSIGN_OR_RETURN(ConstPtr B, c.float_input(2, "bias"));
    if (int64_t(B->f.size()) != O)
      return c.fail("bias {}: needs {} values (one per output channel)", dims_str(B->dims), O);
    n.bias = B->f;
  }
  return add_and_bind(c, std::move(n));
}

// y = (x - mean) / sqrt(var + eps) * scale + B = x * s + t per channel.
// Folded into the producing Conv when nothing else reads the Conv's output;
// otherwise a Mul and an Add by per-channel constants.
Status convert_batch_norm(Converter& c) {
  ASSIGN_OR_RETURN(int x, c.runtime_input(0));
  const int C = c.shape_of(x).c;
  ASSIGN_OR_RETURN(float eps, c.attr_float("epsilon", 1e-5f));
  ASSIGN_OR_RETURN(int64_t training, c.attr_int("training_mode", 0));
  if (training != 0) return c.fail("training_mode={}: only inference is supported", training);
  ASSIGN_OR_RETURN(int64_t spatial, c.attr_int("spatial", 1));
  if (spatial != 1) return c.fail("spatial={}: only 1 is supported", spatial);
  const char* roles[4] = {"scale", "B", "mean", "var"};
  ConstPtr p[4];
  for (int k = 0; k < 4; ++k) {
    ASSIGN_OR_RETURN(p[k], c.float_input(k + 1, roles[k]));
    if (int(p[k]->f.size()) != C)
      return c.fail("{} {} has {} values: needs one per channel ({})", roles[k],
                    dims_str(p[k]->dims), p[k]->f.size(), C);
  }
  std::vector<float> s(static_cast<size_t>(C)), t(static_cast<size_t>(C));
  for (size_t ch = 0; ch < size_t(C); ++ch) {
    s[ch] = p[0]->f[ch] / std::sqrt(p[3]->f[ch] + eps);
    t[ch] = p[1]->f[ch] - p[2]->f[ch] * s[ch];
  }
  Node& prod = c.ir_node(x);
  if (prod.kind == OpKind::Conv && prod.act == graph::Act::None && c.names_bound(x) == 1 &&
      c.uses(c.node().input(0)) == 1) {
    size_t per_out = prod.weight.size() / size_t(C);
    for (size_t o = 0; o < size_t(C); ++o)
      for (size_t j = 0; j < per_out; ++j) prod.weight[o * per_out + j] *= s[o];
    if (prod.bias.empty()) prod.bias.assign(size_t(C), 0.f);
    for (size_t o = 0; o < size_t(C); ++o) prod.bias[o] = prod.bias[o] * s[o] + t[o];
    c.bind_output(0, x);
    return ok_status();
  }
  Node mul;
  mul.kind = OpKind::Mul;
  mul.inputs = {x};
  mul.weight = std::move(s);
  ASSIGN_OR_RETURN(int m, c.add_node(std::move(mul), ".scale"));
  Node add;
  add.kind = OpKind::Add;
  add.inputs = {m};
  add.weight = std::move(t);
  return add_and_bind(c, std::move(add));
}

Status convert_max_pool(Converter& c) {
  return convert_pool(c, OpKind::MaxPool);
}
Status convert_avg_pool(Converter& c) {
  return convert_pool(c, OpKind::AvgPool);
}

Status convert_global_avg_pool(Converter& c) {
  ASSIGN_OR_RETURN(int x, rank4_input(c, 0));
  Node n;
  n.kind = OpKind::GlobalAvgPool;
  n.inputs = {x};
  return add_and_bind(c, std::move(n));
}

// Y = alpha * A * B' + beta * C -> Dense with weight alpha * B' ([O][I]) and
// bias beta * C.
Status convert_gemm(Converter& c) {
  ASSIGN_OR_RETURN(int x, c.runtime_input(0));
  const int64_t features = c.shape_of(x).elements();
  ASSIGN_OR_RETURN(float alpha, c.attr_float("alpha", 1.f));
  ASSIGN_OR_RETURN(float beta, c.attr_float("beta", 1.f));
  ASSIGN_OR_RETURN(int64_t trans_a, c.attr_int("transA", 0));
  ASSIGN_OR_RETURN(int64_t trans_b, c.attr_int("transB", 0));
  if (trans_a != 0) return c.fail("transA={}: only 0 is supported", trans_a);
  ASSIGN_OR_RETURN(ConstPtr B, c.float_input(1, "B"));
  if (B->dims.size() != 2) return c.fail("B {}: needs 2 dims", dims_str(B->dims));
  const int64_t I = trans_b ? B->dims[1] : B->dims[0];
  const int64_t O = trans_b ? B->dims[0] : B->dims[1];
  if (I != features || O < 1)
    return c.fail("B {} with transB={} takes {} input features: input {} has {}", dims_str(B->dims),
                  trans_b, I, c.shape_of(x).str(), features);
  Node n;
  n.kind = OpKind::Dense;
  n.inputs = {x};
  n.weight.resize(B->f.size());
  for (int64_t o = 0; o < O; ++o)
    for (int64_t i = 0; i < I; ++i)
      n.weight[size_t(o * I + i)] = alpha * B->f[size_t(trans_b ? o * I + i : i * O + o)];
  if (c.has_input(2)) {
    ASSIGN_OR_RETURN(ConstPtr C, c.float_input(2, "C"));
    const size_t nc = C->f.size();
    bool row = nc == size_t(O) && !C->dims.empty() && C->dims.back() == O && C->dims.size() <= 2;
    if (nc != 1 && !row)
      return c.fail("C {}: needs [O], [1,O] or a scalar with O={}", dims_str(C->dims), O);
    n.bias.resize(size_t(O));
    for (size_t o = 0; o < size_t(O); ++o) n.bias[o] = beta * C->f[nc == 1 ? 0 : o];
  }
  return add_and_bind(c, std::move(n));
}

// [1,I] x B[I][O] -> Dense with weight B' ([O][I]).
Status convert_matmul(Converter& c) {
  ASSIGN_OR_RETURN(int x, c.runtime_input(0));
  const Shape xs = c.shape_of(x);
  if (xs.rank != 2) return c.fail("input {}: only a 2-D [1,F] input is supported", xs.str());
  ASSIGN_OR_RETURN(ConstPtr B, c.float_input(1, "B"));
  if (B->dims.size() != 2 || B->dims[0] != xs.c || B->dims[1] < 1)
    return c.fail("B {}: needs [{},O] for input {}", dims_str(B->dims), xs.c, xs.str());
  const int64_t I = B->dims[0], O = B->dims[1];
  Node n;
  n.kind = OpKind::Dense;
  n.inputs = {x};
  n.weight.resize(B->f.size());
  for (int64_t o = 0; o < O; ++o)
    for (int64_t i = 0; i < I; ++i) n.weight[size_t(o * I + i)] = B->f[size_t(i * O + o)];
  return add_and_bind(c, std::move(n));
}

}  // namespace coinfer::onnx_io::detail
