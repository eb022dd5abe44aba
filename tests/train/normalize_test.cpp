// Inputs from bytes and from float features (the Python module's arrays), owned or borrowed:
// the same values reach the network, so the same training follows.
#include <numeric>

#include <gtest/gtest.h>

#include "digitnet/train/normalize.hpp"
#include "digitnet/train/trainer.hpp"
#include "test_support.hpp"

namespace digitnet {
namespace {

// data's pixels as float features v = pixel / pixel_max, read as given (pixel_max 1).
Dataset as_floats(const Dataset& data) {
  Dataset d = data;
  d.pixels.clear();
  const float inv = 1.0f / data.pixel_max;
  for (std::uint8_t p : data.pixels) d.values.push_back(float(p) * inv);
  d.pixel_max = 1;
  return d;
}

Tensor<float> inputs(const Dataset& data, const Normalizer& norm) {
  std::vector<std::size_t> idx(data.size());
  std::iota(idx.begin(), idx.end(), 0);
  Tensor<float> X(static_cast<int>(data.size()), data.features());
  norm.gather(data, idx, X.view());
  return X;
}

TEST(Normalize, FloatFeaturesGiveTheInputsTheirPixelsGive) {
  const Dataset bytes = test::synthetic(300, 6, 6, 1);
  const Dataset floats = as_floats(bytes);
  ASSERT_TRUE(floats.has_floats());
  for (const auto kind : {Normalizer::scale, Normalizer::zscore}) {
    const Normalizer nb = Normalizer::fit(kind, bytes), nf = Normalizer::fit(kind, floats);
    EXPECT_EQ(nf.pixel_max, 1.0f);
    const Tensor<float> a = inputs(bytes, nb), b = inputs(floats, nf);
    ASSERT_EQ(a.size(), b.size());
    // scale: the same floats; zscore: its mean and spread come from float32 values instead of
    // exact quotients, a rounding apart
    for (std::size_t i = 0; i < a.size(); ++i) {
      if (kind == Normalizer::scale) ASSERT_EQ(a.storage[i], b.storage[i]) << i;
      else ASSERT_NEAR(a.storage[i], b.storage[i], 1e-5) << i;
    }
  }
}

TEST(Normalize, FloatsAreScaledByPixelMax) {
  Dataset d;
  d.height = 1;
  d.width = 2;
  d.values = {8, 16, 4, 0};
  d.labels = {0, 1};
  d.pixel_max = 16;
  Normalizer n = Normalizer::fit(Normalizer::scale, d);
  const Tensor<float> X = inputs(d, n);
  EXPECT_EQ(std::vector<float>(X.storage.begin(), X.storage.end()), (std::vector<float>{0.5f, 1, 0.25f, 0}));
}

TEST(Normalize, BorrowedRowsAreReadInPlace) {
  const Dataset owned = test::synthetic(50, 4, 4, 3);
  Dataset borrowed;
  borrowed.height = owned.height;
  borrowed.width = owned.width;
  borrowed.labels = owned.labels;
  borrowed.pixel_view = owned.pixels;
  EXPECT_EQ(borrowed.image(7), owned.pixels.data() + 7 * 16);
  const Dataset floats = as_floats(owned);
  Dataset borrowed_floats = borrowed;
  borrowed_floats.pixel_view = {};
  borrowed_floats.value_view = floats.values;
  borrowed_floats.pixel_max = 1;
  EXPECT_EQ(borrowed_floats.floats(3), floats.values.data() + 3 * 16);
  // a subset of borrowed rows owns its copy
  const std::vector<std::size_t> pick{4, 1};
  const Dataset sub = borrowed_floats.subset(pick);
  ASSERT_EQ(sub.values.size(), 32u);
  EXPECT_EQ(sub.values[0], floats.values[4 * 16]);
  EXPECT_EQ(sub.labels, (std::vector<std::uint8_t>{owned.labels[4], owned.labels[1]}));
}

TEST(Normalize, TrainingOnFloatsIsTrainingOnTheirPixels) {
  const Dataset bytes = test::synthetic(200, 5, 5, 2);
  const Dataset floats = as_floats(bytes);
  std::vector<Network<float>> nets;
  for (const Dataset* d : {&bytes, &floats}) {
    const Normalizer norm = Normalizer::fit(Normalizer::scale, *d);
    const Recipe r{.layers = {25, 12, 10}, .lr = 0.1, .batch = 8, .epochs = 2, .seed = 3};
    Network<float> net = new_network(r);
    Trainer(net, norm, r).fit(*d, nullptr);
    nets.push_back(net);
  }
  for (std::size_t l = 0; l < nets[0].layers.size(); ++l) EXPECT_EQ(nets[0].layers[l].W(), nets[1].layers[l].W());
}

}  // namespace
}  // namespace digitnet
