// The per-op shape function. Everything that needs an op's geometry (shape
// inference, cost, regions for band execution and planners) calls into here.
#include <algorithm>

#include "graph/graph.h"

namespace coinfer::graph {

static_assert(int(OpKind::Count) == 16, "update op_name and the switches below");
static_assert(int(Act::Count) == 5, "update act_name");

const char* op_name(OpKind k) {
  static const char* names[] = {"Input",   "Conv",   "MaxPool", "AvgPool", "GlobalAvgPool",
                                "Dense",   "Add",    "Mul",     "Concat",  "Flatten",
                                "Softmax", "Pad",    "Resize",  "SpaceToDepth", "Unary", "Unflatten"};
  static_assert(sizeof(names) / sizeof(names[0]) == size_t(OpKind::Count));
  return names[int(k)];
}

const char* act_name(Act a) {
  static const char* names[] = {"None", "Relu", "Clip", "LeakyRelu", "Sigmoid"};
  static_assert(sizeof(names) / sizeof(names[0]) == size_t(Act::Count));
  return names[int(a)];
}

int64_t Graph::params() const {
  int64_t p = 0;
  for (const Node& n : nodes) p += int64_t(n.weight.size() + n.bias.size());
  return p;
}

namespace {

// Output extent of a sliding window along one axis (PyTorch/ONNX rules).
int window_out(int in, int k, int s, int d, int p0, int p1, bool ceil_mode) {
  int span = in + p0 + p1 - d * (k - 1) - 1;
  if (span < 0) return 0;
  int out = ceil_mode ? (span + s - 1) / s + 1 : span / s + 1;
  // A ceil-mode window must start inside the input or the leading padding.
  if (ceil_mode && (out - 1) * s >= in + p0) --out;
  return out;
}

Status check_window(const Node& n) {
  const Window& w = n.win;
  const char* op = op_name(n.kind);
  if (w.kh < 1 || w.kw < 1) return errorf("{} '{}': kernel {}x{}: must be >= 1", op, n.name, w.kh, w.kw);
  if (w.sh < 1 || w.sw < 1) return errorf("{} '{}': stride {}x{}: must be >= 1", op, n.name, w.sh, w.sw);
  if (w.dh < 1 || w.dw < 1)
    return errorf("{} '{}': dilation {}x{}: must be >= 1", op, n.name, w.dh, w.dw);
  if (w.pt < 0 || w.pl < 0 || w.pb < 0 || w.pr < 0)
    return errorf("{} '{}': negative padding: must be >= 0", op, n.name);
  int eff = (w.kh - 1) * w.dh + 1;
  if (n.kind != OpKind::Conv && (w.pt >= eff || w.pb >= eff))
    return errorf("{} '{}': padding {} >= kernel {}: pads must be smaller than the window", op,
                  n.name, std::max(w.pt, w.pb), eff);
  return ok_status();
}

}  // namespace

Result<Shape> infer_shape(const Graph& g, const Node& n) {
  const char* op = op_name(n.kind);
  std::vector<const Shape*> in;
  for (int i : n.inputs) {
    if (i < 0 || i >= int(g.nodes.size()) || &g.nodes[size_t(i)] >= &n)
      return errorf("{} '{}': input id {}: must name an earlier node", op, n.name, i);
    in.push_back(&g.nodes[size_t(i)].out);
  }
  auto need_inputs = [&](size_t k) -> Status {
    if (in.size() != k) return errorf("{} '{}': {} inputs: needs {}", op, n.name, in.size(), k);
    return ok_status();
  };
  auto need_rank4 = [&](const Shape& s) -> Status {
    if (s.rank != 4) return errorf("{} '{}': input {}: needs a 4-D NCHW input", op, n.name, s.str());
    return ok_status();
  };
  switch (n.kind) {
    case OpKind::Input:
      if (n.out.c < 1 || n.out.h < 1 || n.out.w < 1)
        return errorf("input '{}': shape {}: every dimension must be >= 1", n.name, n.out.str());
      return n.out;
    case OpKind::Conv: {
      RETURN_IF_ERROR(need_inputs(1));
      RETURN_IF_ERROR(need_rank4(*in[0]));
      RETURN_IF_ERROR(check_window(n));
      const Shape& x = *in[0];
      if (n.groups < 1 || x.c % n.groups != 0)
        return errorf("Conv '{}': groups={}: must divide input channels {}", n.name, n.groups, x.c);
      int64_t per_out = int64_t(n.win.kh) * n.win.kw * (x.c / n.groups);
      if (per_out == 0 || n.weight.size() % per_out != 0)
        return errorf("Conv '{}': weight of {} floats does not fit kernel {}x{}x{}", n.name,
                      n.weight.size(), n.win.kh, n.win.kw, x.c / n.groups);
      int oc = int(n.weight.size() / per_out);
      if (oc % n.groups != 0)
        return errorf("Conv '{}': {} output channels: must be a multiple of groups={}", n.name, oc,
                      n.groups);
      if (!n.bias.empty() && int(n.bias.size()) != oc)
        return errorf("Conv '{}': bias has {} values: needs {}", n.name, n.bias.size(), oc);
      Shape s{oc, window_out(x.h, n.win.kh, n.win.sh, n.win.dh, n.win.pt, n.win.pb, false),
              window_out(x.w, n.win.kw, n.win.sw, n.win.dw, n.win.pl, n.win.pr, false), 4};
      if (s.h < 1 || s.w < 1)
        return errorf("Conv '{}': input {} is smaller than the kernel", n.name, x.str());
      return s;
    }
    case OpKind::MaxPool:
    case OpKind::AvgPool: {
      RETURN_IF_ERROR(need_inputs(1));
      RETURN_IF_ERROR(need_rank4(*in[0]));
      RETURN_IF_ERROR(check_window(n));
      const Shape& x = *in[0];
      Shape s{x.c, window_out(x.h, n.win.kh, n.win.sh, n.win.dh, n.win.pt, n.win.pb, n.win.ceil_mode),
              window_out(x.w, n.win.kw, n.win.sw, n.win.dw, n.win.pl, n.win.pr, n.win.ceil_mode), 4};
      if (s.h < 1 || s.w < 1)
        return errorf("{} '{}': input {} is smaller than the window", op, n.name, x.str());
      return s;
    }
    case OpKind::GlobalAvgPool:
      RETURN_IF_ERROR(need_inputs(1));
      RETURN_IF_ERROR(need_rank4(*in[0]));
      return Shape{in[0]->c, 1, 1, 4};
    case OpKind::Dense: {
      RETURN_IF_ERROR(need_inputs(1));
      const Shape& x = *in[0];
      if (x.rank != 2 && (x.h != 1 || x.w != 1))
        return errorf("Dense '{}': input {}: must be [1,F] (flatten first)", n.name, x.str());
      if (n.weight.empty() || n.weight.size() % size_t(x.c) != 0)
        return errorf("Dense '{}': weight of {} floats does not match {} input features", n.name,
                      n.weight.size(), x.c);
      int oc = int(n.weight.size() / size_t(x.c));
      if (!n.bias.empty() && int(n.bias.size()) != oc)
        return errorf("Dense '{}': bias has {} values: needs {}", n.name, n.bias.size(), oc);
      return Shape{oc, 1, 1, 2};
    }
    case OpKind::Add:
    case OpKind::Mul: {
      if (in.empty() || in.size() > 2)
        return errorf("{} '{}': {} inputs: needs 2 (or 1 and a constant)", op, n.name, in.size());
      const Shape& a = *in[0];
      if (in.size() == 1) {
        if (n.weight.size() != 1 && n.weight.size() != size_t(a.c))
          return errorf("{} '{}': constant of {} values: must be a scalar or one per channel", op,
                        n.name, n.weight.size());
        return a;
      }
      const Shape& b = *in[1];
      if (a == b) return a;
      if (b.c == a.c && b.h == 1 && b.w == 1) return a;  // per-channel broadcast
      if (a.c == b.c && a.h == 1 && a.w == 1) return b;
      return errorf("{} '{}': shapes {} and {}: must match or broadcast per channel", op, n.name,
                    a.str(), b.str());
    }
    case OpKind::Concat: {
      if (in.empty()) return errorf("Concat '{}': no inputs", n.name);
      Shape s = *in[0];
      s.c = 0;
      for (const Shape* x : in) {
        if (x->h != s.h || x->w != s.w || x->rank != s.rank)
          return errorf("Concat '{}': input {} vs {}: must agree in all but channels", n.name,
                        x->str(), in[0]->str());
        s.c += x->c;
      }
      return s;
    }
    case OpKind::Flatten:
      RETURN_IF_ERROR(need_inputs(1));
      return Shape{int(in[0]->elements()), 1, 1, 2};
    case OpKind::Softmax:
      RETURN_IF_ERROR(need_inputs(1));
      if (in[0]->rank != 2 && (in[0]->h != 1 || in[0]->w != 1))
        return errorf("Softmax '{}': input {}: only [1,C] inputs are supported", n.name,
                      in[0]->str());
      return *in[0];
    case OpKind::Pad: {
      RETURN_IF_ERROR(need_inputs(1));
      RETURN_IF_ERROR(need_rank4(*in[0]));
      for (int p : n.pads)
        if (p < 0) return errorf("Pad '{}': negative pads (cropping): not supported", n.name);
      const Shape& x = *in[0];
      return Shape{x.c, x.h + n.pads[0] + n.pads[2], x.w + n.pads[1] + n.pads[3], 4};
    }
    case OpKind::Resize:
      RETURN_IF_ERROR(need_inputs(1));
      RETURN_IF_ERROR(need_rank4(*in[0]));
      if (n.factor < 1 || n.factor > 64)
        return errorf("Resize '{}': scale {}: must be an integer in [1, 64]", n.name, n.factor);
      return Shape{in[0]->c, in[0]->h * n.factor, in[0]->w * n.factor, 4};
    case OpKind::SpaceToDepth: {
      RETURN_IF_ERROR(need_inputs(1));
      RETURN_IF_ERROR(need_rank4(*in[0]));
      const Shape& x = *in[0];
      int b = n.factor;
      if (b < 1 || x.h % b != 0 || x.w % b != 0)
        return errorf("SpaceToDepth '{}': blocksize {}: must divide H={} and W={}", n.name, b, x.h,
                      x.w);
      return Shape{x.c * b * b, x.h / b, x.w / b, 4};
    }
    case OpKind::Unflatten:
      RETURN_IF_ERROR(need_inputs(1));
      if (in[0]->h != 1 || in[0]->w != 1)
        return errorf("Unflatten '{}': input {}: must be [1,C]", n.name, in[0]->str());
      return Shape{in[0]->c, 1, 1, 4};
    case OpKind::Unary:
      RETURN_IF_ERROR(need_inputs(1));
      if (n.act == Act::None || n.act >= Act::Count)
        return errorf("Unary '{}': no activation set", n.name);
      return *in[0];
    case OpKind::Count:
      break;
  }
  return errorf("node '{}': unknown op kind {}", n.name, int(n.kind));
}

// Largest value a graph may compute, in elements (the ONNX importer's limit
// for inputs and initializers): a hostile model must not get an 8 GiB+
// activation past import, to fail (or be killed) only when it runs.
constexpr int64_t kMaxValueElements = int64_t(1) << 31;

Status infer_shapes(Graph& g) {
  if (g.nodes.empty() || g.nodes[0].kind != OpKind::Input)
    return errorf("graph '{}': first node must be the input", g.name);
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    if (i > 0 && g.nodes[i].kind == OpKind::Input)
      return errorf("graph '{}': node '{}': only one input is supported", g.name, g.nodes[i].name);
    ASSIGN_OR_RETURN(Shape s, infer_shape(g, g.nodes[i]));
    if (s.elements() > kMaxValueElements)
      return errorf("graph '{}': node '{}': output {} has {} elements: more than 2^31", g.name,
                    g.nodes[i].name, s.str(), s.elements());
    g.nodes[i].out = s;
  }
  if (g.output < 0 || g.output >= int(g.nodes.size()))
    return errorf("graph '{}': output id {} out of range", g.name, g.output);
  return ok_status();
}

bool row_local(const Node& n) {
  switch (n.kind) {
    case OpKind::GlobalAvgPool:
    case OpKind::Dense:
    case OpKind::Flatten:
    case OpKind::Softmax:
      return false;
    case OpKind::Add:
    case OpKind::Mul:
      return true;  // a broadcast operand is [1,C,1,1]: see input_rows
    default:
      return true;
  }
}

Rows input_rows(const Graph& g, const Node& n, int i, Rows out) {
  const Shape& x = g.nodes[size_t(n.inputs[size_t(i)])].out;
  if (out.empty()) return {0, 0};
  switch (n.kind) {
    case OpKind::Conv:
    case OpKind::MaxPool:
    case OpKind::AvgPool: {
      const Window& w = n.win;
      return {out.lo * w.sh - w.pt, (out.hi - 1) * w.sh - w.pt + (w.kh - 1) * w.dh + 1};
    }
    case OpKind::Pad:
      return {out.lo - n.pads[0], out.hi - n.pads[0]};
    case OpKind::Resize:
      return {out.lo / n.factor, (out.hi - 1) / n.factor + 1};
    case OpKind::SpaceToDepth:
      return {out.lo * n.factor, out.hi * n.factor};
    case OpKind::Add:
    case OpKind::Mul:
    case OpKind::Concat:
    case OpKind::Unary:
      if (x.h == 1 && n.out.h != 1) return {0, 1};  // broadcast operand
      return out;
    default:
      return {0, x.h};
  }
}

Cost node_cost(const Graph& g, const Node& n, Rows out_rows) {
  Cost c;
  double rows = out_rows.size();
  double out_elems = rows * n.out.w * n.out.c;
  double in_bytes = 0;
  for (size_t i = 0; i < n.inputs.size(); ++i) {
    const Shape& x = g.nodes[size_t(n.inputs[i])].out;
    in_bytes += double(input_rows(g, n, int(i), out_rows).clip(x.h).size()) * x.row_elements() * 4;
  }
  c.bytes = in_bytes + out_elems * 4;
  c.weight_bytes = double(n.weight.size() + n.bias.size()) * 4;
  switch (n.kind) {
    case OpKind::Conv: {
      const Shape& x = g.nodes[size_t(n.inputs[0])].out;
      c.flops = 2.0 * out_elems * n.win.kh * n.win.kw * (x.c / n.groups);
      break;
    }
    case OpKind::Dense:
      c.flops = 2.0 * double(n.weight.size());
      break;
    case OpKind::MaxPool:
    case OpKind::AvgPool:
      c.flops = out_elems * n.win.kh * n.win.kw;
      break;
    case OpKind::GlobalAvgPool:
      c.flops = double(g.nodes[size_t(n.inputs[0])].out.elements());
      break;
    case OpKind::Input:
      c.bytes = 0;
      break;
    default:
      c.flops = out_elems;
      break;
  }
  return c;
}

}  // namespace coinfer::graph
