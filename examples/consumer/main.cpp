// Trains a small network on made-up 4x4 "digits" with digitnet::core alone, and prints its
// accuracy: exits 0 when it learned them.
#include <cstdio>

#include "digitnet/core/dataset.hpp"
#include "digitnet/core/rng.hpp"
#include "digitnet/nn/network.hpp"
#include "digitnet/train/recipe.hpp"
#include "digitnet/train/trainer.hpp"

int main() {
  using namespace digitnet;
  // Ten classes, each a fixed random pattern of bright pixels, plus noise.
  Rng rng(7);
  Dataset data;
  data.height = data.width = 4;
  std::vector<std::vector<int>> patterns(kClasses, std::vector<int>(16));
  for (auto& p : patterns)
    for (auto& v : p) v = rng.uniform() < 0.4 ? 220 : 30;
  for (int i = 0; i < 2000; ++i) {
    data.labels.push_back(static_cast<std::uint8_t>(i % kClasses));
    for (int v : patterns[i % kClasses]) data.pixels.push_back(static_cast<std::uint8_t>(v + rng.below(30)));
  }
  const Normalizer norm = Normalizer::fit(Normalizer::scale, data);
  const Recipe recipe{.layers = {16, 32, 10}, .lr = 0.1, .batch = 32, .epochs = 5, .seed = 1};
  Network<float> net = new_network(recipe);  // ReLU, softmax + cross-entropy, He init from the seed
  Trainer trainer(net, norm, recipe);
  trainer.fit(data, nullptr);
  const double accuracy = trainer.accuracy(data);
  std::printf("digitnet::core consumer: accuracy %.1f%% after 5 epochs\n", 100 * accuracy);
  return accuracy > 0.9 ? 0 : 1;
}
