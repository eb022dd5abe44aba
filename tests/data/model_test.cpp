// Model files: round trip, and refusing files that are not, or no longer, ours.
#include <gtest/gtest.h>

#include "digitnet/core/error.hpp"
#include "digitnet/data/model.hpp"
#include "digitnet/data/npz.hpp"
#include "test_support.hpp"

namespace digitnet {
namespace {

struct Saved {
  test::TempDir dir;
  std::string path = dir.file("m.npz");
  Network<float> net{{{16, 8, 10}, Activation::tanh, Loss::mse}};
  Normalizer norm;
  Saved() {
    Rng rng(1);
    net.init(Init{}, rng);
    norm = Normalizer::fit(Normalizer::zscore, test::synthetic(30, 4, 4, 1));
    save_model(path, net, norm, 4, 4, {{"dataset", "synthetic"}});
  }
  std::string error_after(const std::function<void(NpzArchive&)>& edit) {
    NpzArchive a = read_npz(path);
    edit(a);
    write_npz(path, a);
    try {
      load_model(path);
    } catch (const Error& e) {
      return e.what();
    }
    return "no error";
  }
};

TEST(Model, RoundTripKeepsEverything) {
  Saved s;
  Model m = load_model(s.path);
  EXPECT_EQ(m.net.arch().sizes, (std::vector<int>{16, 8, 10}));
  EXPECT_EQ(m.net.arch().hidden, Activation::tanh);
  EXPECT_EQ(m.net.arch().loss, Loss::mse);
  EXPECT_EQ(m.norm.kind, Normalizer::zscore);
  EXPECT_EQ(m.norm.mean, s.norm.mean);
  EXPECT_EQ(m.height, 4);
  EXPECT_EQ(m.config["dataset"], "synthetic");
  for (std::size_t l = 0; l < 2; ++l) EXPECT_EQ(test::values(m.net.layers[l].Wt), test::values(s.net.layers[l].Wt));
}

TEST(Model, NewerFormatIsRefusedClearly) {
  Saved s;
  const std::string msg = s.error_after([](NpzArchive& a) {
    auto cfg = nlohmann::json::parse(a["config"].to_string());
    cfg["format_version"] = kModelFormatVersion + 1;
    a["config"] = NpyArray::from_string(cfg.dump());
  });
  EXPECT_NE(msg.find("newer digitnet"), std::string::npos) << msg;
}

// A plain np.savez of the weights, without digitnet's config: a ReLU network with softmax
// outputs, its layers from the arrays' shapes, z-scored when input_mean and input_std are there.
TEST(Model, WeightsWithoutAConfigLoadAsAReluNetwork) {
  Saved s;
  EXPECT_EQ(s.error_after([](NpzArchive& a) { a.erase("config"); }), "no error");
  Model m = load_model(s.path);
  EXPECT_EQ(m.net.arch().sizes, (std::vector<int>{16, 8, 10}));
  EXPECT_EQ(m.net.arch().hidden, Activation::relu);
  EXPECT_EQ(m.net.arch().loss, Loss::cross_entropy);
  EXPECT_EQ(m.norm.kind, Normalizer::zscore);
  EXPECT_EQ(m.height, 4);
  EXPECT_EQ(m.width, 4);
  for (std::size_t l = 0; l < 2; ++l) EXPECT_EQ(test::values(m.net.layers[l].Wt), test::values(s.net.layers[l].Wt));
  Saved s2;
  EXPECT_EQ(s2.error_after([](NpzArchive& a) {
    a.erase("config");
    a.erase("b2");
  }),
            s2.path + ": has 'w2' but no 'b2'");
}

TEST(Model, InconsistentFilesAreRefused) {
  Saved s;
  EXPECT_NE(s.error_after([](NpzArchive& a) {
               a.erase("config");
               a.erase("w1");
             }).find("neither a 'config' entry nor weight arrays w1, b1"),
            std::string::npos);
  Saved s2;
  EXPECT_NE(s2.error_after([](NpzArchive& a) {
                a["w2"] = NpyArray::from_floats(std::vector<float>(10), {10, 1});
              }).find("'w2' has shape"),
            std::string::npos);
  Saved s3;
  EXPECT_NE(
      s3.error_after([](NpzArchive& a) { a["config"] = NpyArray::from_string("{not json"); }).find("not valid JSON"),
      std::string::npos);
  Saved s4;
  EXPECT_NE(s4.error_after([](NpzArchive& a) { a.erase("input_std"); }).find("input_std"), std::string::npos);
  Saved s5;
  EXPECT_NE(s5.error_after([](NpzArchive& a) {
                auto v = a["b1"].to_floats();
                v[0] = std::numeric_limits<float>::quiet_NaN();
                a["b1"] = NpyArray::from_floats(v, {v.size()});
              }).find("nan"),
            std::string::npos);
}

TEST(Model, TruncatedFileIsAnErrorNotACrash) {
  Saved s;
  Bytes b = read_file(s.path);
  b.resize(b.size() / 3);
  test::write_bytes(s.path, b);
  EXPECT_THROW(load_model(s.path), Error);
}

}  // namespace
}  // namespace digitnet
