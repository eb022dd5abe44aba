// The ONNX writer: protobuf's wire format byte for byte, and a model's graph read back with a
// small decoder (the Python tests run the files in onnx.checker and ONNX Runtime).
#include <cstring>
#include <filesystem>
#include <map>
#include <stdexcept>

#include <gtest/gtest.h>

#include "data/protobuf.hpp"
#include "digitnet/core/error.hpp"
#include "digitnet/data/file.hpp"
#include "digitnet/data/onnx.hpp"
#include "test_support.hpp"

namespace digitnet {
namespace {

using Bytes = std::vector<std::uint8_t>;

TEST(Protobuf, WireFormat) {
  proto::Writer w;
  w.varint(1, 150);  // the protobuf documentation's example: 08 96 01
  EXPECT_EQ(w.data(), (Bytes{0x08, 0x96, 0x01}));
  proto::Writer s;
  s.string(2, "testing");
  EXPECT_EQ(s.data(), (Bytes{0x12, 0x07, 't', 'e', 's', 't', 'i', 'n', 'g'}));
  proto::Writer n;
  n.varint(1, -1);  // int64 -1: ten bytes
  EXPECT_EQ(n.data(), (Bytes{0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}));
  proto::Writer f;
  f.float32(2, 1.0f);
  EXPECT_EQ(f.data(), (Bytes{0x15, 0x00, 0x00, 0x80, 0x3f}));
  proto::Writer p;
  const std::vector<std::int64_t> dims{3, 270, 86942};
  p.packed_varints(4, dims);  // the documentation's packed example
  EXPECT_EQ(p.data(), (Bytes{0x22, 0x06, 0x03, 0x8e, 0x02, 0x9e, 0xa7, 0x05}));
  proto::Writer outer;
  outer.message(3, w);  // a nested message is length-delimited
  EXPECT_EQ(outer.data(), (Bytes{0x1a, 0x03, 0x08, 0x96, 0x01}));
  proto::Writer big;
  big.varint(20, 2);  // field numbers above 15 take two key bytes
  EXPECT_EQ(big.data(), (Bytes{0xa0, 0x01, 0x02}));
}

// A decoded message: field number -> its values (varints as numbers, the rest as bytes).
struct Message {
  std::multimap<int, std::uint64_t> numbers;
  std::multimap<int, Bytes> bytes;
  std::string text(int field) const {
    const auto it = bytes.find(field);
    return it == bytes.end() ? "" : std::string(it->second.begin(), it->second.end());
  }
  std::vector<Message> messages(int field) const;
};

Message decode(const Bytes& b) {
  Message m;
  std::size_t i = 0;
  const auto varint = [&] {
    std::uint64_t v = 0;
    for (int shift = 0;; shift += 7) {
      if (i >= b.size()) throw std::runtime_error("truncated varint");
      const std::uint8_t byte = b[i++];
      v |= std::uint64_t(byte & 0x7f) << shift;
      if (!(byte & 0x80)) return v;
    }
  };
  while (i < b.size()) {
    const std::uint64_t key = varint();
    const int field = static_cast<int>(key >> 3);
    switch (key & 7) {
      case 0: m.numbers.emplace(field, varint()); break;
      case 5:
        m.bytes.emplace(field, Bytes(b.begin() + i, b.begin() + i + 4));
        i += 4;
        break;
      case 2: {
        const std::size_t len = varint();
        if (i + len > b.size()) throw std::runtime_error("truncated field");
        m.bytes.emplace(field, Bytes(b.begin() + i, b.begin() + i + len));
        i += len;
        break;
      }
      default: throw std::runtime_error("unexpected wire type");
    }
  }
  return m;
}

std::vector<Message> Message::messages(int field) const {
  std::vector<Message> out;
  for (auto [it, end] = bytes.equal_range(field); it != end; ++it) out.push_back(decode(it->second));
  return out;
}

struct Graph {
  std::vector<std::string> ops;
  std::map<std::string, Bytes> initializers;  // name -> raw_data
  std::vector<std::string> inputs, outputs;
  std::uint64_t ir_version = 0, opset = 0;
  std::map<std::string, std::string> metadata;
};

Graph read_graph(const Bytes& file) {
  const Message model = decode(file);
  Graph g;
  g.ir_version = model.numbers.find(1)->second;
  g.opset = model.messages(8).at(0).numbers.find(2)->second;
  for (const Message& e : model.messages(14)) g.metadata[e.text(1)] = e.text(2);
  const Message graph = model.messages(7).at(0);
  for (const Message& n : graph.messages(1)) g.ops.push_back(n.text(4));
  for (const Message& t : graph.messages(5)) g.initializers[t.text(8)] = t.bytes.find(9)->second;
  for (const Message& v : graph.messages(11)) g.inputs.push_back(v.text(1));
  for (const Message& v : graph.messages(12)) g.outputs.push_back(v.text(1));
  return g;
}

Network<float> network(std::vector<int> sizes, Activation a, Loss loss) {
  Network<float> net({std::move(sizes), a, loss});
  Rng rng(1, kInitStream);
  net.init(Init{}, rng);
  return net;
}

TEST(Onnx, GraphOfAScaledReluNetwork) {
  const Network<float> net = network({16, 8, 4, 3}, Activation::relu, Loss::cross_entropy);
  Normalizer norm;  // scale, pixel_max 255
  const Graph g = read_graph(onnx_model(net, norm, {.doc = "test", .metadata = {{"classes", "[0,1,2]"}}}));
  EXPECT_EQ(g.ir_version, 7u);
  EXPECT_EQ(g.opset, 13u);
  EXPECT_EQ(g.ops, (std::vector<std::string>{"Mul", "Gemm", "Relu", "Gemm", "Relu", "Gemm", "Softmax", "ArgMax"}));
  EXPECT_EQ(g.inputs, std::vector<std::string>{"input"});
  EXPECT_EQ(g.outputs, (std::vector<std::string>{"probabilities", "label"}));
  EXPECT_EQ(g.metadata.at("classes"), "[0,1,2]");
  // weights as the model file has them, (out, in), little-endian float32
  const std::vector<float> w2 = net.layers[1].W();
  const Bytes& raw = g.initializers.at("w2");
  ASSERT_EQ(raw.size(), w2.size() * 4);
  EXPECT_EQ(std::memcmp(raw.data(), w2.data(), raw.size()), 0);
  const float inv = 1.0f / 255;
  EXPECT_EQ(std::memcmp(g.initializers.at("input_scale").data(), &inv, 4), 0);
}

TEST(Onnx, ZscoreAndMseAndFloatInputs) {
  const Network<float> net = network({4, 5, 2}, Activation::tanh, Loss::mse);
  Normalizer norm;
  norm.kind = Normalizer::zscore;
  norm.pixel_max = 1;  // float features read as given: no Mul
  norm.mean = {0, 1, 2, 3};
  norm.std = {1, 2, 3, 4};
  const Graph g = read_graph(onnx_model(net, norm));
  EXPECT_EQ(g.ops, (std::vector<std::string>{"Sub", "Div", "Gemm", "Tanh", "Gemm", "Sigmoid", "ArgMax"}));
  EXPECT_EQ(g.initializers.at("input_std").size(), 16u);
  EXPECT_EQ(g.initializers.count("input_scale"), 0u);
}

TEST(Onnx, SavesAtomically) {
  test::TempDir dir;
  const Network<float> net = network({4, 3}, Activation::sigmoid, Loss::cross_entropy);
  save_onnx(dir.file("m.onnx"), net, Normalizer{});
  EXPECT_EQ(read_file(dir.file("m.onnx")), onnx_model(net, Normalizer{}));
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir.path), {}), 1);  // no temp file left
  EXPECT_THROW(save_onnx(dir.file("no/such/dir/m.onnx"), net, Normalizer{}), Error);
}

}  // namespace
}  // namespace digitnet
