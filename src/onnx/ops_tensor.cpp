// ONNX op converters without weights: activations, elementwise ops with a
// per-channel constant, Concat, Flatten, Reshape (as a flatten), Softmax, Pad,
// Resize / Upsample (nearest, integer factor), SpaceToDepth.
#include <fmt/ranges.h>

#include <cmath>
#include <limits>

#include "onnx/converter.h"

namespace coinfer::onnx_io::detail {

using graph::Node;
using graph::OpKind;

namespace {

Status add_and_bind(Converter& c, Node n) {
  ASSIGN_OR_RETURN(int id, c.add_node(std::move(n)));
  c.bind_output(0, id);
  return ok_status();
}

Result<int> rank4_input(Converter& c, int k) {
  ASSIGN_OR_RETURN(int x, c.runtime_input(k));
  if (c.shape_of(x).rank != 4)
    return c.fail("input {}: needs a 4-D NCHW input", c.shape_of(x).str());
  return x;
}

// Normalizes a possibly negative axis against `rank`.
Result<int> axis_of(Converter& c, int64_t axis, int rank) {
  if (axis < -rank || axis >= rank) return c.fail("axis={}: out of range for rank {}", axis, rank);
  return int(axis < 0 ? axis + rank : axis);
}

// Folds an elementwise op on two constants of equal size (or one scalar).
Status fold_binary(Converter& c, const std::string& op) {
  ASSIGN_OR_RETURN(ConstPtr a, c.const_input(0));
  ASSIGN_OR_RETURN(ConstPtr b, c.const_input(1));
  if (a->is_int != b->is_int) return c.fail("constants of different types: cannot fold");
  const size_t na = a->size(), nb = b->size();
  if (na != nb && na != 1 && nb != 1)
    return c.fail("constants {} and {}: only equal shapes or a scalar operand are folded",
                  dims_str(a->dims), dims_str(b->dims));
  auto out = std::make_shared<Const>();
  out->is_int = a->is_int;
  out->dims = (na > nb || (na == nb && a->dims.size() >= b->dims.size())) ? a->dims : b->dims;
  const size_t n = std::max(na, nb);
  for (size_t k = 0; k < n; ++k) {
    size_t ka = na == 1 ? 0 : k, kb = nb == 1 ? 0 : k;
    if (out->is_int) {
      int64_t x = a->i[ka], y = b->i[kb];
      if (op == "Div" && y == 0) return c.fail("integer division by zero");
      out->i.push_back(op == "Add" ? x + y : op == "Sub" ? x - y : op == "Mul" ? x * y : x / y);
    } else {
      float x = a->f[ka], y = b->f[kb];
      out->f.push_back(op == "Add" ? x + y : op == "Sub" ? x - y : op == "Mul" ? x * y : x / y);
    }
  }
  c.bind_const(0, std::move(out));
  return ok_status();
}

}  // namespace

Status convert_activation(Converter& c) {
  ASSIGN_OR_RETURN(int x, c.runtime_input(0));
  const std::string& op = c.node().op_type();
  Node n;
  n.kind = OpKind::Unary;
  n.inputs = {x};
  if (op == "Relu") {
    n.act = graph::Act::Relu;
  } else if (op == "Sigmoid") {
    n.act = graph::Act::Sigmoid;
  } else if (op == "LeakyRelu") {
    n.act = graph::Act::LeakyRelu;
    ASSIGN_OR_RETURN(n.alpha, c.attr_float("alpha", 0.01f));
  } else {  // Clip: bounds as attributes (opset < 11) or as constant inputs
    n.act = graph::Act::Clip;
    const float inf = std::numeric_limits<float>::infinity();
    ASSIGN_OR_RETURN(n.act_min, c.attr_float("min", -inf));
    ASSIGN_OR_RETURN(n.act_max, c.attr_float("max", inf));
    for (int k = 1; k <= 2; ++k) {
      if (!c.has_input(k)) continue;
      const char* role = k == 1 ? "min" : "max";
      ASSIGN_OR_RETURN(ConstPtr v, c.float_input(k, role));
      if (v->f.size() != 1) return c.fail("{} {}: needs a scalar", role, dims_str(v->dims));
      (k == 1 ? n.act_min : n.act_max) = v->f[0];
    }
    if (!(n.act_min <= n.act_max))
      return c.fail("min {} > max {}: needs min <= max", n.act_min, n.act_max);
  }
  return add_and_bind(c, std::move(n));
}

// Add/Mul of two tensors; Add/Sub/Mul/Div of a tensor and a constant that
// broadcasts per channel (or is a scalar): an Add or Mul with `weight`.
Status convert_binary(Converter& c) {
  const std::string& op = c.node().op_type();
  const bool sub_or_div = op == "Sub" || op == "Div";
  if (!c.has_input(0) || !c.has_input(1)) return c.fail("needs 2 inputs");
  const bool c0 = c.input_is_const(0), c1 = c.input_is_const(1);
  if (c0 && c1) return fold_binary(c, op);
  Node n;
  n.kind = (op == "Add" || op == "Sub") ? OpKind::Add : OpKind::Mul;
  if (!c0 && !c1) {
    if (sub_or_div)
      return c.fail("{} of two tensors: only a constant second operand is supported", op);
    ASSIGN_OR_RETURN(int a, c.runtime_input(0));
    ASSIGN_OR_RETURN(int b, c.runtime_input(1));
    const Shape sa = c.shape_of(a), sb = c.shape_of(b);
    if (sa.rank != sb.rank) return c.fail("operands {} and {}: ranks differ", sa.str(), sb.str());
    if (sa.h == 1 && sa.w == 1 && !(sb.h == 1 && sb.w == 1)) std::swap(a, b);  // broadcast second
    n.inputs = {a, b};
    return add_and_bind(c, std::move(n));
  }
  if (c0 && sub_or_div)
    return c.fail("constant {} tensor: only tensor {} constant is supported", op, op);
  const int xk = c0 ? 1 : 0;
  ASSIGN_OR_RETURN(int x, c.runtime_input(xk));
  ASSIGN_OR_RETURN(ConstPtr k, c.float_input(1 - xk, "constant"));
  const Shape xs = c.shape_of(x);
  const std::vector<int64_t> xd = onnx_dims(xs);
  // ONNX broadcasting aligns trailing dims: every constant dim must be 1
  // except one aligned with the channel axis.
  bool per_channel = k->dims.size() <= xd.size() && !k->f.empty();
  const size_t off = xd.size() - std::min(xd.size(), k->dims.size());
  for (size_t j = 0; j < k->dims.size() && per_channel; ++j)
    per_channel = k->dims[j] == 1 || (off + j == 1 && k->dims[j] == xs.c);
  if (!per_channel)
    return c.fail(
        "constant {} does not broadcast per channel over input {}: use [1,C,1,1] or a scalar",
        dims_str(k->dims), dims_str(xd));
  n.inputs = {x};
  n.weight = k->f;
  for (float& v : n.weight) v = op == "Sub" ? -v : op == "Div" ? 1.f / v : v;
  return add_and_bind(c, std::move(n));
}

Status convert_concat(Converter& c) {
  if (!c.has_attr("axis")) return c.fail("attribute axis is missing");
  ASSIGN_OR_RETURN(int64_t axis, c.attr_int("axis", 1));
  const int n_in = c.node().input_size();
  if (n_in == 0) return c.fail("no inputs");
  int consts = 0;
  for (int k = 0; k < n_in; ++k) consts += c.input_is_const(k);
  if (consts == n_in) {  // a shape computation: 1-D constants along axis 0
    auto out = std::make_shared<Const>();
    for (int k = 0; k < n_in; ++k) {
      ASSIGN_OR_RETURN(ConstPtr v, c.const_input(k));
      if (v->dims.size() != 1 || (axis != 0 && axis != -1))
        return c.fail("constant {} along axis {}: only 1-D constants are folded", dims_str(v->dims),
                      axis);
      if (k > 0 && v->is_int != out->is_int)
        return c.fail("constants of different types: cannot fold");
      out->is_int = v->is_int;
      out->i.insert(out->i.end(), v->i.begin(), v->i.end());
      out->f.insert(out->f.end(), v->f.begin(), v->f.end());
    }
    out->dims = {int64_t(out->size())};
    c.bind_const(0, std::move(out));
    return ok_status();
  }
  if (consts > 0) return c.fail("mixes constant and computed inputs: unsupported");
  Node n;
  n.kind = OpKind::Concat;
  for (int k = 0; k < n_in; ++k) {
    ASSIGN_OR_RETURN(int x, c.runtime_input(k));
    n.inputs.push_back(x);
  }
  const int rank = c.shape_of(n.inputs[0]).rank;
  ASSIGN_OR_RETURN(int ax, axis_of(c, axis, rank));
  if (ax != 1)
    return c.fail("axis={} on a {}-D input: only the channel axis 1 is supported", axis, rank);
  return add_and_bind(c, std::move(n));
}

Status convert_flatten(Converter& c) {
  ASSIGN_OR_RETURN(int x, c.runtime_input(0));
  ASSIGN_OR_RETURN(int64_t axis, c.attr_int("axis", 1));
  ASSIGN_OR_RETURN(int ax, axis_of(c, axis, c.shape_of(x).rank));
  if (ax > 1) return c.fail("axis={}: only 1 (flatten all but the batch) is supported", axis);
  Node n;  // axis 0 gives [1, C*H*W] too at batch 1
  n.kind = OpKind::Flatten;
  n.inputs = {x};
  return add_and_bind(c, std::move(n));
}

// Reshape of a computed tensor: only a flatten to [1, C*H*W]; a constant is
// reshaped in place.
Status convert_reshape(Converter& c) {
  ASSIGN_OR_RETURN(ConstPtr target, c.const_input(1));
  if (!target->is_int || target->dims.size() != 1)
    return c.fail("shape {}: needs a 1-D int64 tensor", dims_str(target->dims));
  ASSIGN_OR_RETURN(int64_t allowzero, c.attr_int("allowzero", 0));
  const bool is_const = c.input_is_const(0);
  std::vector<int64_t> in;
  ConstPtr data;
  int x = -1;
  if (is_const) {
    ASSIGN_OR_RETURN(data, c.const_input(0));
    in = data->dims;
  } else {
    ASSIGN_OR_RETURN(x, c.runtime_input(0));
    in = onnx_dims(c.shape_of(x));
  }
  int64_t total = 1;
  for (int64_t d : in) total *= d;  // bounded: a decoded tensor or an IR shape
  std::vector<int64_t> out = target->i;
  int64_t known = 1;
  int infer = -1;
  for (size_t j = 0; j < out.size(); ++j) {
    int64_t& v = out[j];
    if (v == 0 && !allowzero) {
      if (j >= in.size())
        return c.fail("shape {}: 0 at dim {} of a {}-D input", dims_str(target->i), j, in.size());
      v = in[j];
    }
    if (v == -1) {
      if (infer >= 0) return c.fail("shape {}: more than one -1", dims_str(target->i));
      infer = int(j);
      continue;
    }
    if (v < 0 || v > total)
      return c.fail("shape {}: cannot reshape {}", dims_str(target->i), dims_str(in));
    known *= v;
    if (known > total)
      return c.fail("shape {}: cannot reshape {}", dims_str(target->i), dims_str(in));
  }
  if (infer >= 0) {
    if (known == 0 || total % known != 0)
      return c.fail("shape {}: cannot reshape {}", dims_str(target->i), dims_str(in));
    out[size_t(infer)] = total / known;
  } else if (known != total) {
    return c.fail("shape {}: cannot reshape {}", dims_str(target->i), dims_str(in));
  }
  if (is_const) {
    auto r = std::make_shared<Const>(*data);
    r->dims = out;
    c.bind_const(0, std::move(r));
    return ok_status();
  }
  const bool from_vector = in.size() == 2 || (in.size() == 4 && in[2] == 1 && in[3] == 1);
  if (from_vector && out.size() == 4 && out[0] == 1 && out[2] == 1 && out[3] == 1) {
    Node n;  // [1,C] -> [1,C,1,1]
    n.kind = OpKind::Unflatten;
    n.inputs = {x};
    return add_and_bind(c, std::move(n));
  }
  if (out.size() != 2 || out[0] != 1)
    return c.fail("shape {}{} of input {}: only a flatten to [1,-1] or [1,C] <-> [1,C,1,1] is supported",
                  dims_str(target->i), out == target->i ? "" : " (= " + dims_str(out) + ")",
                  dims_str(in));
  Node n;
  n.kind = OpKind::Flatten;
  n.inputs = {x};
  return add_and_bind(c, std::move(n));
}

Status convert_softmax(Converter& c) {
  ASSIGN_OR_RETURN(int x, c.runtime_input(0));
  const Shape xs = c.shape_of(x);
  ASSIGN_OR_RETURN(int64_t axis, c.attr_int("axis", c.opset() < 13 ? 1 : -1));
  ASSIGN_OR_RETURN(int ax, axis_of(c, axis, xs.rank));
  if (ax != 1 || (xs.rank == 4 && (xs.h != 1 || xs.w != 1)))
    return c.fail("axis={} on input {}: only channels of a [1,C] (or [1,C,1,1]) input", axis,
                  xs.str());
  Node n;
  n.kind = OpKind::Softmax;
  n.inputs = {x};
  return add_and_bind(c, std::move(n));
}

Status convert_pad(Converter& c) {
  ASSIGN_OR_RETURN(int x, rank4_input(c, 0));
  ASSIGN_OR_RETURN(std::string mode, c.attr_string("mode", "constant"));
  if (mode != "constant") return c.fail("mode '{}': only constant is supported", mode);
  std::vector<int64_t> pads;
  float value = 0.f;
  if (c.has_attr("pads")) {  // opset < 11
    ASSIGN_OR_RETURN(pads, c.attr_ints("pads"));
    ASSIGN_OR_RETURN(value, c.attr_float("value", 0.f));
  } else {
    ASSIGN_OR_RETURN(ConstPtr p, c.const_input(1));
    if (!p->is_int) return c.fail("pads: needs int64");
    pads = p->i;
    if (c.has_input(2)) {
      ASSIGN_OR_RETURN(ConstPtr v, c.float_input(2, "constant_value"));
      if (v->f.size() != 1) return c.fail("constant_value {}: needs a scalar", dims_str(v->dims));
      value = v->f[0];
    }
    if (c.has_input(3)) {  // opset 18 axes: pads name only these axes
      ASSIGN_OR_RETURN(ConstPtr a, c.const_input(3));
      if (!a->is_int || pads.size() != 2 * a->i.size())
        return c.fail("axes {} and pads {}: need int64 axes and 2 pads per axis", dims_str(a->i),
                      dims_str(pads));
      std::vector<int64_t> full(8, 0);
      for (size_t j = 0; j < a->i.size(); ++j) {
        ASSIGN_OR_RETURN(int ax, axis_of(c, a->i[j], 4));
        full[size_t(ax)] = pads[j];
        full[size_t(ax) + 4] = pads[j + a->i.size()];
      }
      pads = full;
    }
  }
  if (pads.size() != 8) return c.fail("pads has {} values: needs 8 for a 4-D input", pads.size());
  if (pads[0] || pads[1] || pads[4] || pads[5])
    return c.fail("pads {}: only H and W may be padded", dims_str(pads));
  Node n;
  n.kind = OpKind::Pad;
  n.inputs = {x};
  const int at[4] = {2, 3, 6, 7};  // ONNX begin H, begin W, end H, end W
  for (int j = 0; j < 4; ++j) {
    ASSIGN_OR_RETURN(n.pads[j],
                     c.small_int(pads[size_t(at[j])], fmt::format("pads[{}]", at[j]), 0, 1 << 16));
  }
  n.pad_value = value;
  return add_and_bind(c, std::move(n));
}

// Nearest upsampling by one integer factor for H and W. Exact for the
// half-pixel coordinate modes with any rounding and for asymmetric with floor
// (Upsample and opset-10 Resize).
Status convert_resize(Converter& c) {
  ASSIGN_OR_RETURN(int x, rank4_input(c, 0));
  const Shape xs = c.shape_of(x);
  const bool upsample = c.node().op_type() == "Upsample";
  ASSIGN_OR_RETURN(std::string mode, c.attr_string("mode", "nearest"));
  if (mode != "nearest") return c.fail("mode '{}': only nearest is supported", mode);
  if (c.has_attr("axes")) return c.fail("attribute axes: unsupported");
  const bool v11 = !upsample && c.opset() >= 11;
  if (v11) {
    ASSIGN_OR_RETURN(std::string ctm,
                     c.attr_string("coordinate_transformation_mode", "half_pixel"));
    ASSIGN_OR_RETURN(std::string nm, c.attr_string("nearest_mode", "round_prefer_floor"));
    bool half = ctm == "half_pixel" || ctm == "pytorch_half_pixel";
    bool floor_ok = (ctm == "asymmetric" || ctm == "tf_half_pixel_for_nn") && nm == "floor";
    if (!half && !floor_ok)
      return c.fail("coordinate_transformation_mode '{}' with nearest_mode '{}': unsupported", ctm,
                    nm);
  }
  std::vector<float> scales;
  bool have_scales = true;
  if (upsample && c.opset() < 9) {
    ASSIGN_OR_RETURN(scales, c.attr_floats("scales"));
  } else if (!v11) {
    ASSIGN_OR_RETURN(ConstPtr s, c.float_input(1, "scales"));
    scales = s->f;
  } else if (c.has_input(2)) {  // may be empty when sizes is given (opset 11-12)
    ASSIGN_OR_RETURN(ConstPtr s, c.float_input(2, "scales"));
    scales = s->f;
    have_scales = !scales.empty();
  } else {
    have_scales = false;
  }
  int factor = 0;
  if (have_scales) {
    float f = scales.size() == 4 ? scales[2] : 0.f;
    if (scales.size() != 4 || scales[0] != 1.f || scales[1] != 1.f || scales[3] != f ||
        f != std::floor(f) || f < 1.f || f > 64.f)
      return c.fail("scales [{}]: needs [1,1,s,s] with an integer s in [1, 64]",
                    fmt::join(scales, ","));
    factor = int(f);
  } else {
    ASSIGN_OR_RETURN(ConstPtr s, c.const_input(3));
    const std::vector<int64_t>& z = s->i;
    if (!s->is_int || z.size() != 4 || z[0] != 1 || z[1] != xs.c || z[2] % xs.h != 0 ||
        z[3] % xs.w != 0 || z[2] / xs.h != z[3] / xs.w || z[2] < xs.h || z[2] / xs.h > 64)
      return c.fail("sizes {} for input {}: needs [1,C,H*s,W*s] with an integer s in [1, 64]",
                    dims_str(z), xs.str());
    factor = int(z[2] / xs.h);
  }
  Node n;
  n.kind = OpKind::Resize;
  n.inputs = {x};
  n.factor = factor;
  return add_and_bind(c, std::move(n));
}

Status convert_space_to_depth(Converter& c) {
  ASSIGN_OR_RETURN(int x, rank4_input(c, 0));
  if (!c.has_attr("blocksize")) return c.fail("attribute blocksize is missing");
  ASSIGN_OR_RETURN(int64_t b, c.attr_int("blocksize", 1));
  Node n;
  n.kind = OpKind::SpaceToDepth;
  n.inputs = {x};
  ASSIGN_OR_RETURN(n.factor, c.small_int(b, "blocksize", 1, 64));
  return add_and_bind(c, std::move(n));
}

}  // namespace coinfer::onnx_io::detail
