#include "digitnet/presets.hpp"

#include <fmt/format.h>

#include "digitnet/error.hpp"

namespace digitnet {

const std::vector<Preset>& presets() {
  // lr is always for the batch-mean gradient (PyTorch's convention).
  static const std::vector<Preset> all = {
      {"relu-128-64", "000",
       "784-128-64-10 ReLU, softmax+CE, He init, batch 32, lr 0.32 (the notebook's summed-gradient lr 0.01), 50 epochs",
       {{784, 128, 64, 10}, "relu", "ce", "he", "scale", "auto", 32, 50, 0.32, 1, 1}},
      {"digits-relu-32", "001",
       "8x8 digits z-scored, 64-32-10 ReLU, randn*0.1 init, full batch, lr 0.1, 1000 epochs, seed 42",
       {{64, 32, 10}, "relu", "ce", "normal:0.1", "zscore", "random:0.2", 0, 1000, 0.1, 42, 100}},
      {"digits-softmax", "001",
       "8x8 digits z-scored, 64-10 softmax, randn*0.1 init, full batch, lr 0.1, 1000 epochs, seed 42",
       {{64, 10}, "relu", "ce", "normal:0.1", "zscore", "random:0.2", 0, 1000, 0.1, 42, 100}},
      {"sigmoid-mse-20x3", "002",
       "784-20-20-20-10 sigmoid, sigmoid output + MSE, randn init, batch 10, lr 1.5, 30 epochs",
       {{784, 20, 20, 20, 10}, "sigmoid", "mse", "normal:1", "scale", "auto", 10, 30, 1.5, 1, 1}},
      {"relu-10-dev", "003",
       "784-10-10 ReLU, softmax+CE, uniform(-0.5,0.5) init, full batch, lr 0.1, 500 epochs, 1000-example dev split",
       {{784, 10, 10}, "relu", "ce", "uniform:0.5", "scale", "dev:1000", 0, 500, 0.1, 1, 50}},
      {"relu-128-fullbatch", "004",
       "784-128-10 ReLU, softmax+CE, N(0,1/fan_in) init, full batch, lr 0.03, 40 epochs, random 80/20 split, seed 42",
       {{784, 128, 10}, "relu", "ce", "lecun", "scale", "random:0.2", 0, 40, 0.03, 42, 2}},
  };
  return all;
}

const Preset& find_preset(std::string_view name) {
  std::string names;
  for (const auto& p : presets()) {
    if (p.name == name || "seed" + p.seed == name) return p;
    names += (names.empty() ? "" : ", ") + p.name;
  }
  throw Error(fmt::format("--preset: unknown preset '{}' (known: {})", name, names));
}

}  // namespace digitnet
