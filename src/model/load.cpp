#include "model/load.h"

#include "onnx/importer.h"
#include "zoo/zoo.h"

namespace coinfer::model {

Result<graph::Graph> load(const std::string& spec) {
  if (spec.rfind("zoo:", 0) == 0) return zoo::build(spec.substr(4));
  return onnx_io::load_onnx(spec);
}

}  // namespace coinfer::model
