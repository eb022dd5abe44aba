#include "digitnet/data/onnx.hpp"

#include <cstring>
#include <optional>
#include <string_view>

#include <fmt/format.h>

#include "digitnet/data/file.hpp"
#include "protobuf.hpp"

namespace digitnet {
namespace {

// Field numbers and enum values from onnx/onnx.proto.
namespace model {
enum {
  ir_version = 1,
  producer_name = 2,
  producer_version = 3,
  doc_string = 6,
  graph = 7,
  opset_import = 8,
  metadata_props = 14
};
}
namespace opset {
enum { domain = 1, version = 2 };
}
namespace entry {
enum { key = 1, value = 2 };
}
namespace graph {
enum { node = 1, name = 2, initializer = 5, input = 11, output = 12 };
}
namespace node {
enum { input = 1, output = 2, name = 3, op_type = 4, attribute = 5 };
}
namespace attribute {
enum { name = 1, f = 2, i = 3, type = 20 };
enum { FLOAT = 1, INT = 2 };
}  // namespace attribute
namespace tensor {
enum { dims = 1, data_type = 2, name = 8, raw_data = 9 };
enum { FLOAT = 1, INT64 = 7 };
}  // namespace tensor
namespace value_info {
enum { name = 1, type = 2 };
}
namespace type_proto {
enum { tensor_type = 1 };
enum { elem_type = 1, shape = 2 };
}  // namespace type_proto
namespace shape {
enum { dim = 1 };
enum { dim_value = 1, dim_param = 2 };
}  // namespace shape

using proto::Writer;

Writer float_tensor(std::string_view name, std::vector<std::int64_t> dims, std::span<const float> values) {
  Writer t;
  if (!dims.empty()) t.packed_varints(tensor::dims, dims);  // none: a scalar
  t.varint(tensor::data_type, tensor::FLOAT);
  t.string(tensor::name, name);
  std::vector<std::uint8_t> raw(values.size() * sizeof(float));  // little-endian, as x86 and ARM store floats
  if (!values.empty()) std::memcpy(raw.data(), values.data(), raw.size());
  t.bytes(tensor::raw_data, raw);
  return t;
}

// A tensor's type: element type and shape, where a dimension is a number or a name ("N").
Writer value_info_of(std::string_view name, int elem_type, const std::vector<std::string>& dims) {
  Writer shape;
  for (const std::string& d : dims) {
    Writer dim;
    if (!d.empty() && d.find_first_not_of("0123456789") == std::string::npos)
      dim.varint(shape::dim_value, std::stoll(d));
    else dim.string(shape::dim_param, d);
    shape.message(shape::dim, dim);
  }
  Writer tensor_type;
  tensor_type.varint(type_proto::elem_type, elem_type);
  tensor_type.message(type_proto::shape, shape);
  Writer type;
  type.message(type_proto::tensor_type, tensor_type);
  Writer v;
  v.string(value_info::name, name);
  v.message(value_info::type, type);
  return v;
}

struct Attribute {
  std::string name;
  std::int64_t i = 0;
  std::optional<float> f;
};

class Graph {
 public:
  void add_node(std::string_view op, const std::vector<std::string>& inputs, const std::string& output,
                const std::vector<Attribute>& attributes = {}) {
    Writer n;
    for (const auto& in : inputs) n.string(node::input, in);
    n.string(node::output, output);
    n.string(node::name, fmt::format("{}_{}", op, ++count_));
    n.string(node::op_type, op);
    for (const Attribute& a : attributes) {
      Writer w;
      w.string(attribute::name, a.name);
      if (a.f) {
        w.float32(attribute::f, *a.f);
        w.varint(attribute::type, attribute::FLOAT);
      } else {
        w.varint(attribute::i, a.i);
        w.varint(attribute::type, attribute::INT);
      }
      n.message(node::attribute, w);
    }
    nodes_.push_back(std::move(n));
  }
  void add_initializer(Writer t) { initializers_.push_back(std::move(t)); }
  Writer done(const std::vector<Writer>& inputs, const std::vector<Writer>& outputs) const {
    Writer g;
    for (const Writer& n : nodes_) g.message(graph::node, n);
    g.string(graph::name, "digitnet");
    for (const Writer& t : initializers_) g.message(graph::initializer, t);
    for (const Writer& v : inputs) g.message(graph::input, v);
    for (const Writer& v : outputs) g.message(graph::output, v);
    return g;
  }

 private:
  std::vector<Writer> nodes_, initializers_;
  int count_ = 0;
};

std::string_view activation_op(Activation a) {
  switch (a) {
    case Activation::relu: return "Relu";
    case Activation::sigmoid: return "Sigmoid";
    case Activation::tanh: return "Tanh";
  }
  return "Relu";
}

}  // namespace

std::vector<std::uint8_t> onnx_model(const Network<float>& network, const Normalizer& norm, const OnnxInfo& info) {
  // Batch normalization goes into the graph folded into its layer's Gemm, as inference runs it.
  Network<float> folded = network;
  const DenseLayers<float>& layers = folded.inference_layers();
  const Network<float>& net = folded;
  const Architecture& arch = net.arch();
  const auto F = static_cast<std::int64_t>(arch.inputs());
  Graph g;
  std::string x = "input";
  // The input normalisation, the same float operations as Normalizer::gather.
  const float inv = 1.0f / norm.pixel_max;
  if (inv != 1.0f) {
    g.add_initializer(float_tensor("input_scale", {}, std::span<const float>(&inv, 1)));
    g.add_node("Mul", {x, "input_scale"}, "scaled");
    x = "scaled";
  }
  if (norm.kind == Normalizer::zscore) {
    g.add_initializer(float_tensor("input_mean", {F}, norm.mean));
    g.add_initializer(float_tensor("input_std", {F}, norm.std));
    g.add_node("Sub", {x, "input_mean"}, "centred");
    g.add_node("Div", {"centred", "input_std"}, "standardised");
    x = "standardised";
  }
  for (int l = 0; l < arch.depth(); ++l) {
    const Dense<float>& layer = layers[l];
    const std::string w = fmt::format("w{}", l + 1), b = fmt::format("b{}", l + 1), z = fmt::format("z{}", l + 1);
    // W as the model file stores it, (out, in); Gemm multiplies by its transpose.
    g.add_initializer(float_tensor(w, {layer.out(), layer.in()}, layer.W()));
    g.add_initializer(float_tensor(b, {layer.out()}, layer.b.values()));
    g.add_node("Gemm", {x, w, b}, z, {{.name = "transB", .i = 1}});
    const bool last = l + 1 == arch.depth();
    x = last ? "probabilities" : fmt::format("a{}", l + 1);
    if (!last) g.add_node(activation_op(arch.hidden), {z}, x);
    else if (arch.loss == Loss::cross_entropy) g.add_node("Softmax", {z}, x, {{.name = "axis", .i = 1}});
    else g.add_node("Sigmoid", {z}, x);
  }
  g.add_node("ArgMax", {"probabilities"}, "label", {{.name = "axis", .i = 1}, {.name = "keepdims", .i = 0}});

  const auto classes = std::to_string(arch.classes());
  const Writer graph = g.done(
      {value_info_of("input", tensor::FLOAT, {"N", std::to_string(F)})},
      {value_info_of("probabilities", tensor::FLOAT, {"N", classes}), value_info_of("label", tensor::INT64, {"N"})});
  Writer m;
  m.varint(model::ir_version, kOnnxIrVersion);
  m.string(model::producer_name, "digitnet");
  m.string(model::producer_version, "0.1.0");
  if (!info.doc.empty()) m.string(model::doc_string, info.doc);
  m.message(model::graph, graph);
  Writer op;
  op.string(opset::domain, "");
  op.varint(opset::version, kOnnxOpset);
  m.message(model::opset_import, op);
  for (const auto& [key, value] : info.metadata) {
    Writer e;
    e.string(entry::key, key);
    e.string(entry::value, value);
    m.message(model::metadata_props, e);
  }
  return m.data();
}

void save_onnx(const std::string& path, const Network<float>& net, const Normalizer& norm, const OnnxInfo& info) {
  write_file_atomic(path, onnx_model(net, norm, info));
}

}  // namespace digitnet
