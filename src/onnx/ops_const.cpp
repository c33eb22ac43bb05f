// Aliases and constant folding: Identity, Dropout, Constant, and the shape
// computations torch exports emit, evaluated here because every shape is
// static: a flatten (Shape -> Gather -> Unsqueeze -> Concat -> Reshape) and
// the pads of F.pad (ConstantOfShape -> Concat -> Reshape -> Slice ->
// Transpose -> Reshape -> Cast). Squeeze of a computed [1,C,1,1] to [1,C] is
// a Flatten.
#include <algorithm>
#include <cstdint>

#include "onnx/converter.h"

namespace coinfer::onnx_io::detail {

namespace {

Result<int> axis_of(Converter& c, int64_t axis, int rank) {
  if (axis < -rank || axis >= rank) return c.fail("axis={}: out of range for rank {}", axis, rank);
  return int(axis < 0 ? axis + rank : axis);
}

// The axes of Squeeze / Unsqueeze: an attribute before opset 13, then an
// optional input.
Result<std::vector<int64_t>> read_axes(Converter& c) {
  if (c.has_attr("axes")) return c.attr_ints("axes");
  if (!c.has_input(1)) return std::vector<int64_t>{};
  ASSIGN_OR_RETURN(ConstPtr a, c.const_input(1));
  if (!a->is_int) return c.fail("axes: needs int64");
  return a->i;
}

// Row-major strides of `dims`.
std::vector<int64_t> strides_of(const std::vector<int64_t>& dims) {
  std::vector<int64_t> st(dims.size(), 1);
  for (size_t j = dims.size(); j-- > 1;) st[j - 1] = st[j] * dims[j];
  return st;
}

// A constant of shape `dims` whose element at multi-index m is element
// src(m) (a flat index) of `in`.
template <typename F>
ConstPtr remap(const Const& in, const std::vector<int64_t>& dims, F src) {
  auto out = std::make_shared<Const>();
  out->is_int = in.is_int;
  out->dims = dims;
  int64_t n = 1;
  for (int64_t d : dims) n *= d;
  std::vector<int64_t> m(dims.size(), 0);
  for (int64_t k = 0; k < n; ++k) {
    int64_t rest = k;
    for (size_t j = dims.size(); j-- > 0;) {
      m[j] = rest % dims[j];
      rest /= dims[j];
    }
    size_t at = size_t(src(m));
    if (in.is_int)
      out->i.push_back(in.i[at]);
    else
      out->f.push_back(in.f[at]);
  }
  return out;
}

// Starts/ends/axes/steps of Slice: attributes before opset 10, then inputs.
Result<std::vector<int64_t>> slice_arg(Converter& c, int k, const char* name) {
  if (c.opset() < 10) return c.attr_ints(name);
  if (!c.has_input(k)) return std::vector<int64_t>{};
  ASSIGN_OR_RETURN(ConstPtr v, c.const_input(k));
  if (!v->is_int) return c.fail("{}: needs int64", name);
  return v->i;
}

}  // namespace

Status convert_identity(Converter& c) {
  return c.alias_output(0, 0);
}

Status convert_constant(Converter& c) {
  auto out = std::make_shared<Const>();
  if (const onnx::AttributeProto* a = c.attr("value")) {
    if (!a->has_t()) return c.fail("attribute value: needs a tensor");
    ASSIGN_OR_RETURN(ConstPtr t, c.decode(a->t(), c.node().output(0)));
    c.bind_const(0, std::move(t));
    return ok_status();
  }
  if (c.has_attr("value_float")) {
    ASSIGN_OR_RETURN(float v, c.attr_float("value_float", 0.f));
    out->f = {v};
  } else if (c.has_attr("value_floats")) {
    ASSIGN_OR_RETURN(out->f, c.attr_floats("value_floats"));
    out->dims = {int64_t(out->f.size())};
  } else if (c.has_attr("value_int")) {
    ASSIGN_OR_RETURN(int64_t v, c.attr_int("value_int", 0));
    out->is_int = true;
    out->i = {v};
  } else if (c.has_attr("value_ints")) {
    ASSIGN_OR_RETURN(out->i, c.attr_ints("value_ints"));
    out->is_int = true;
    out->dims = {int64_t(out->i.size())};
  } else {
    return c.fail("only value, value_float(s) and value_int(s) are supported");
  }
  c.bind_const(0, std::move(out));
  return ok_status();
}

Status convert_shape(Converter& c) {
  std::vector<int64_t> dims;
  if (c.input_is_const(0)) {
    ASSIGN_OR_RETURN(ConstPtr v, c.const_input(0));
    dims = v->dims;
  } else {
    ASSIGN_OR_RETURN(int x, c.runtime_input(0));
    dims = onnx_dims(c.shape_of(x));
  }
  const int64_t r = int64_t(dims.size());
  ASSIGN_OR_RETURN(int64_t start, c.attr_int("start", 0));
  ASSIGN_OR_RETURN(int64_t end, c.attr_int("end", r));
  auto clamp = [&](int64_t v) { return std::clamp<int64_t>(v < 0 ? v + r : v, 0, r); };
  start = clamp(start);
  end = std::max(start, clamp(end));
  auto out = std::make_shared<Const>();
  out->is_int = true;
  out->i.assign(dims.begin() + start, dims.begin() + end);
  out->dims = {end - start};
  c.bind_const(0, std::move(out));
  return ok_status();
}

Status convert_gather(Converter& c) {
  if (!c.input_is_const(0))
    return c.fail("data is computed at run time: only Gather on constant 1-D shapes is supported");
  ASSIGN_OR_RETURN(ConstPtr data, c.const_input(0));
  ASSIGN_OR_RETURN(ConstPtr idx, c.const_input(1));
  ASSIGN_OR_RETURN(int64_t axis, c.attr_int("axis", 0));
  if (data->dims.size() != 1 || (axis != 0 && axis != -1))
    return c.fail("data {} axis {}: only 1-D constant data is folded", dims_str(data->dims), axis);
  if (!idx->is_int) return c.fail("indices: needs int64");
  const int64_t n = data->dims[0];
  auto out = std::make_shared<Const>();
  out->is_int = data->is_int;
  out->dims = idx->dims;
  for (int64_t k : idx->i) {
    if (k < -n || k >= n) return c.fail("index {}: out of range for {} values", k, n);
    size_t at = size_t(k < 0 ? k + n : k);
    if (data->is_int)
      out->i.push_back(data->i[at]);
    else
      out->f.push_back(data->f[at]);
  }
  c.bind_const(0, std::move(out));
  return ok_status();
}

Status convert_unsqueeze(Converter& c) {
  const bool squeeze = c.node().op_type() == "Squeeze";
  ASSIGN_OR_RETURN(std::vector<int64_t> axes, read_axes(c));
  std::vector<int64_t> in;
  ConstPtr data;
  int x = -1;
  if (c.input_is_const(0)) {
    ASSIGN_OR_RETURN(data, c.const_input(0));
    in = data->dims;
  } else if (squeeze) {
    ASSIGN_OR_RETURN(x, c.runtime_input(0));
    in = onnx_dims(c.shape_of(x));
  } else {
    ASSIGN_OR_RETURN(x, c.runtime_input(0));
    return c.fail("Unsqueeze of a computed tensor {}: unsupported (only constants are folded)",
                  c.shape_of(x).str());
  }
  std::vector<int64_t> out;
  if (squeeze) {
    std::vector<char> drop(in.size(), 0);
    for (int64_t a : axes) {
      ASSIGN_OR_RETURN(int ax, axis_of(c, a, int(in.size())));
      if (in[size_t(ax)] != 1)
        return c.fail("axis {} of {} has size {}: needs 1", a, dims_str(in), in[size_t(ax)]);
      drop[size_t(ax)] = 1;
    }
    for (size_t j = 0; j < in.size(); ++j)
      if (!(axes.empty() ? in[j] == 1 : drop[j])) out.push_back(in[j]);
  } else {
    const int rank = int(in.size() + axes.size());
    std::vector<char> add(size_t(rank), 0);
    for (int64_t a : axes) {
      ASSIGN_OR_RETURN(int ax, axis_of(c, a, rank));
      if (add[size_t(ax)]) return c.fail("axes {}: repeated axis", dims_str(axes));
      add[size_t(ax)] = 1;
    }
    size_t next = 0;
    for (int j = 0; j < rank; ++j) out.push_back(add[size_t(j)] ? 1 : in[next++]);
  }
  if (data) {
    auto r = std::make_shared<Const>(*data);
    r->dims = out;
    c.bind_const(0, std::move(r));
    return ok_status();
  }
  // A computed tensor: [1,C,1,1] -> [1,C] is a flatten.
  if (out.size() != 2 || out[0] != 1)
    return c.fail("Squeeze of {} to {}: only [1,C,1,1] -> [1,C] is supported", dims_str(in),
                  dims_str(out));
  graph::Node n;
  n.kind = graph::OpKind::Flatten;
  n.inputs = {x};
  ASSIGN_OR_RETURN(int id, c.add_node(std::move(n)));
  c.bind_output(0, id);
  return ok_status();
}

// Cast of a constant between float and integer types.
Status convert_cast(Converter& c) {
  if (!c.input_is_const(0))
    return c.fail("Cast of a computed tensor: unsupported (only constants)");
  ASSIGN_OR_RETURN(ConstPtr v, c.const_input(0));
  ASSIGN_OR_RETURN(int64_t to, c.attr_int("to", 0));
  auto out = std::make_shared<Const>();
  out->dims = v->dims;
  if (to == onnx::TensorProto::FLOAT || to == onnx::TensorProto::DOUBLE) {
    out->f = v->f;
    for (int64_t k : v->i) out->f.push_back(float(k));
  } else if (to == onnx::TensorProto::INT64 || to == onnx::TensorProto::INT32) {
    out->is_int = true;
    out->i = v->i;
    for (float f : v->f) {
      if (!(f > -9.2e18f && f < 9.2e18f)) return c.fail("value {} does not fit an integer", f);
      out->i.push_back(int64_t(f));
    }
  } else {
    return c.fail("to={}: only float and integer types are supported", to);
  }
  c.bind_const(0, std::move(out));
  return ok_status();
}

Status convert_constant_of_shape(Converter& c) {
  ASSIGN_OR_RETURN(ConstPtr shape, c.const_input(0));
  if (!shape->is_int || shape->dims.size() != 1) return c.fail("input: needs a 1-D int64 shape");
  Const fill;  // default: float 0
  fill.f = {0.f};
  if (const onnx::AttributeProto* a = c.attr("value")) {
    ASSIGN_OR_RETURN(ConstPtr v, c.decode(a->t(), "value"));
    if (v->size() != 1) return c.fail("attribute value: needs one element");
    fill = *v;
  }
  int64_t n = 1;
  for (int64_t d : shape->i) {
    if (d < 0 || (d > 0 && n > (int64_t(1) << 24) / d))
      return c.fail("shape {}: negative or too large to fold", dims_str(shape->i));
    n *= d;
  }
  c.bind_const(0, remap(fill, shape->i, [](const std::vector<int64_t>&) { return 0; }));
  return ok_status();
}

Status convert_slice(Converter& c) {
  if (!c.input_is_const(0))
    return c.fail("Slice of a computed tensor: unsupported (only constants are folded)");
  ASSIGN_OR_RETURN(ConstPtr data, c.const_input(0));
  ASSIGN_OR_RETURN(std::vector<int64_t> starts, slice_arg(c, 1, "starts"));
  ASSIGN_OR_RETURN(std::vector<int64_t> ends, slice_arg(c, 2, "ends"));
  ASSIGN_OR_RETURN(std::vector<int64_t> axes, slice_arg(c, 3, "axes"));
  ASSIGN_OR_RETURN(std::vector<int64_t> steps, slice_arg(c, 4, "steps"));
  const int rank = int(data->dims.size());
  if (axes.empty())
    for (size_t j = 0; j < starts.size(); ++j) axes.push_back(int64_t(j));
  if (steps.empty()) steps.assign(starts.size(), 1);
  if (ends.size() != starts.size() || axes.size() != starts.size() || steps.size() != starts.size())
    return c.fail("starts, ends, axes and steps: need equal lengths");
  std::vector<int64_t> first(size_t(rank), 0), step(size_t(rank), 1), dims = data->dims;
  for (size_t j = 0; j < starts.size(); ++j) {
    ASSIGN_OR_RETURN(int ax, axis_of(c, axes[j], rank));
    const int64_t d = data->dims[size_t(ax)], s = steps[j];
    if (s == 0 || s == INT64_MIN) return c.fail("steps[{}]={}: unsupported", j, s);
    int64_t b = starts[j] < 0 ? starts[j] + d : starts[j];
    int64_t e = ends[j] < 0 ? ends[j] + d : ends[j];
    b = s > 0 ? std::clamp<int64_t>(b, 0, d) : std::clamp<int64_t>(b, 0, d - 1);
    e = s > 0 ? std::clamp<int64_t>(e, 0, d) : std::clamp<int64_t>(e, -1, d - 1);
    int64_t len = s > 0 ? (e > b ? (e - b - 1) / s + 1 : 0) : (b > e ? (b - e - 1) / -s + 1 : 0);
    first[size_t(ax)] = b;
    step[size_t(ax)] = s;
    dims[size_t(ax)] = len;
  }
  const std::vector<int64_t> st = strides_of(data->dims);
  c.bind_const(0, remap(*data, dims, [&](const std::vector<int64_t>& m) {
                 int64_t at = 0;
                 for (size_t j = 0; j < m.size(); ++j) at += (first[j] + m[j] * step[j]) * st[j];
                 return at;
               }));
  return ok_status();
}

Status convert_transpose(Converter& c) {
  if (!c.input_is_const(0))
    return c.fail("Transpose of a computed tensor: unsupported (only constants are folded)");
  ASSIGN_OR_RETURN(ConstPtr data, c.const_input(0));
  ASSIGN_OR_RETURN(std::vector<int64_t> perm, c.attr_ints("perm"));
  const size_t rank = data->dims.size();
  if (perm.empty())
    for (size_t j = rank; j-- > 0;) perm.push_back(int64_t(j));
  std::vector<char> seen(rank, 0);
  for (int64_t p : perm) {
    if (perm.size() != rank || p < 0 || p >= int64_t(rank) || seen[size_t(p)])
      return c.fail("perm {}: not a permutation of {} axes", dims_str(perm), rank);
    seen[size_t(p)] = 1;
  }
  std::vector<int64_t> dims(rank);
  for (size_t j = 0; j < rank; ++j) dims[j] = data->dims[size_t(perm[j])];
  const std::vector<int64_t> st = strides_of(data->dims);
  c.bind_const(0, remap(*data, dims, [&](const std::vector<int64_t>& m) {
                 int64_t at = 0;
                 for (size_t j = 0; j < m.size(); ++j) at += m[j] * st[size_t(perm[j])];
                 return at;
               }));
  return ok_status();
}

}  // namespace coinfer::onnx_io::detail
