// plan_svg: a standalone SVG of a plan. Columns are blocks (equal width, the
// block index and output height below), lanes are devices; each assignment is
// a rectangle over its stage's blocks in its device's lane, coloured by stage
// and labelled with its rows (and columns). A device in several stages (or a
// stage reusing devices) shows several rectangles in one lane.
#include <fmt/format.h>

#include <algorithm>

#include "planners/planner.h"

namespace coinfer::planners {

namespace {

std::string esc(const std::string& s) {
  std::string o;
  for (char c : s) {
    if (c == '&')
      o += "&amp;";
    else if (c == '<')
      o += "&lt;";
    else if (c == '>')
      o += "&gt;";
    else if (c == '"')
      o += "&quot;";
    else
      o += c;
  }
  return o;
}

const char* kColours[] = {"#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2",
                          "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"};

}  // namespace

std::string plan_svg(const plan::Plan& p, const cost::CostModel& cm) {
  const auto& blocks = cm.blocks();
  const auto& devs = cm.cluster().devices;
  const int nb = std::max<int>(1, int(blocks.size()));
  const int left = 110, top = 50, bw = std::max(28, 900 / nb), lane = 34;
  const int width = left + nb * bw + 20;
  const int height = top + int(devs.size()) * lane + 60;
  Estimate e = estimate(cm, p);
  std::string s = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\" "
      "font-family=\"sans-serif\" font-size=\"11\">\n"
      "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
      "<text x=\"10\" y=\"20\" font-size=\"14\">{} on {}: {} ({} stages; estimated period "
      "{:.4g} s, latency {:.4g} s)</text>\n",
      width, height, esc(p.model), esc(cm.cluster().name), esc(p.strategy), p.stages.size(),
      e.period_s, e.latency_s);
  for (size_t d = 0; d < devs.size(); ++d) {
    int y = top + int(d) * lane;
    s += fmt::format(
        "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{}\"/>\n"
        "<text x=\"10\" y=\"{}\">{}</text>\n",
        left, y, nb * bw, lane, d % 2 ? "#f4f4f4" : "#fafafa", y + lane / 2 + 4, esc(devs[d].name));
  }
  for (int k = 0; k < int(blocks.size()); ++k) {
    int x = left + k * bw;
    int y = top + int(devs.size()) * lane;
    s += fmt::format(
        "<line x1=\"{0}\" y1=\"{1}\" x2=\"{0}\" y2=\"{2}\" stroke=\"#ddd\"/>\n"
        "<text x=\"{3}\" y=\"{4}\" text-anchor=\"middle\">{5}</text>\n"
        "<text x=\"{3}\" y=\"{6}\" text-anchor=\"middle\" fill=\"#888\">h{7}</text>\n",
        x, top, y, x + bw / 2, y + 14, k, y + 28,
        cm.graph().nodes[size_t(blocks[size_t(k)].last)].out.h);
  }
  for (size_t si = 0; si < p.stages.size(); ++si) {
    const plan::Stage& st = p.stages[si];
    const char* colour = kColours[si % (sizeof(kColours) / sizeof(kColours[0]))];
    int x0 = left + st.first_block * bw, w = (st.last_block - st.first_block) * bw;
    s += fmt::format(
        "<line x1=\"{0}\" y1=\"{1}\" x2=\"{0}\" y2=\"{2}\" stroke=\"#333\" "
        "stroke-dasharray=\"4 3\"/>\n",
        x0, top - 8, top + int(devs.size()) * lane);
    s += fmt::format("<text x=\"{}\" y=\"{}\">stage {}</text>\n", x0 + 3, top - 10, si);
    for (const plan::Assignment& a : st.parts) {
      int d = cm.cluster().find(a.device);
      if (d < 0) continue;
      int y = top + d * lane + 3;
      std::string label = fmt::format("rows {}-{}", a.rows.lo, a.rows.hi);
      if (!a.all_cols()) label += fmt::format(" cols {}-{}", a.cols.lo, a.cols.hi);
      s += fmt::format(
          "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" rx=\"3\" fill=\"{}\" "
          "fill-opacity=\"0.85\" stroke=\"#222\" stroke-width=\"0.5\"><title>stage {} blocks "
          "[{},{}) {} on {}</title></rect>\n"
          "<text x=\"{}\" y=\"{}\" fill=\"white\">{}</text>\n",
          x0 + 1, y, std::max(1, w - 2), lane - 6, colour, si, st.first_block, st.last_block,
          esc(label), esc(a.device), x0 + 4, y + lane / 2 + 1, esc(label));
    }
  }
  s += "</svg>\n";
  return s;
}

}  // namespace coinfer::planners
