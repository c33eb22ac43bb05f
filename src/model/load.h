// Resolves a model argument: "zoo:NAME" builds a zoo model, anything else is
// read as an ONNX file.
#pragma once

#include <string>

#include "graph/graph.h"

namespace coinfer::model {

Result<graph::Graph> load(const std::string& spec);

}  // namespace coinfer::model
