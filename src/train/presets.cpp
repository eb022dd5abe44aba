#include "digitnet/train/presets.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "digitnet/core/error.hpp"

namespace digitnet {

const std::vector<Preset>& presets() {
  // lr is always for the batch-mean gradient (PyTorch's convention).
  // A table, one preset to a few lines.
  // clang-format off
  static const std::vector<Preset> all = {
      {"relu-128-64", "000",
       "784-128-64-10 ReLU, softmax+CE, He init, batch 32, lr 0.32 (the notebook's summed-gradient lr 0.01), 50 epochs",
       {.layers = {784, 128, 64, 10}, .lr = 0.32, .batch = 32, .epochs = 50}},
      {"digits-relu-32", "001",
       "8x8 digits z-scored, 64-32-10 ReLU, randn*0.1 init, full batch, lr 0.1, 1000 epochs, seed 42",
       {.layers = {64, 32, 10}, .init = "normal:0.1", .lr = 0.1, .data = "digits", .normalize = "zscore", .split = "random:0.2", .batch = 0, .epochs = 1000, .seed = 42, .report_every = 100}},
      {"digits-softmax", "001",
       "8x8 digits z-scored, 64-10 softmax, randn*0.1 init, full batch, lr 0.1, 1000 epochs, seed 42",
       {.layers = {64, 10}, .init = "normal:0.1", .lr = 0.1, .data = "digits", .normalize = "zscore", .split = "random:0.2", .batch = 0, .epochs = 1000, .seed = 42, .report_every = 100}},
      {"sigmoid-mse-20x3", "002",
       "784-20-20-20-10 sigmoid, sigmoid output + MSE, randn init, batch 10, lr 1.5, 30 epochs",
       {.layers = {784, 20, 20, 20, 10}, .activation = "sigmoid", .loss = "mse", .init = "normal:1", .lr = 1.5, .batch = 10, .epochs = 30}},
      {"relu-10-dev", "003",
       "784-10-10 ReLU, softmax+CE, uniform(-0.5,0.5) init, full batch, lr 0.1, 500 epochs, 1000-example dev split",
       {.layers = {784, 10, 10}, .init = "uniform:0.5", .lr = 0.1, .split = "dev:1000", .batch = 0, .epochs = 500, .report_every = 50}},
      {"relu-128-fullbatch", "004",
       "784-128-10 ReLU, softmax+CE, N(0,1/fan_in) init, full batch, lr 0.03, 40 epochs, random 80/20 split, seed 42",
       {.layers = {784, 128, 10}, .init = "lecun", .lr = 0.03, .split = "random:0.2", .batch = 0, .epochs = 40, .seed = 42, .report_every = 2}},
      // The best fully-connected networks found on 2 cores (docs/accuracy.md: their results, the targets).
      {"best-fashion-mnist", "-",
       "784-1024-256-10 ReLU, batch norm, dropout 0.2, label smoothing 0.1, AdamW lr 2e-3, cosine, flips, batch 128, 27 epochs",
       {.layers = {784, 1024, 256, 10}, .batch_norm = "on", .optimizer = "adamw", .lr = 0.002, .weight_decay = 0.01, .schedule = "cosine", .dropout = {0.2}, .label_smoothing = 0.1, .augment = "flip", .data = "fashion-mnist", .batch = 128, .epochs = 27, .report_every = 3}},
      {"best-digits", "-",
       "8x8 digits, 64-256-128-10 ReLU, batch norm, dropout 0.2, label smoothing 0.1, AdamW, cosine, rotate+scale, batch 32, 300 epochs",
       {.layers = {64, 256, 128, 10}, .batch_norm = "on", .optimizer = "adamw", .lr = 0.001, .weight_decay = 0.01, .schedule = "cosine", .dropout = {0.2}, .label_smoothing = 0.1, .augment = "rotate:8,scale:0.08", .data = "digits", .split = "random:0.2", .batch = 32, .epochs = 300, .seed = 42, .report_every = 20}},
      {"best-mnist-10k", "-",
       "784-1024-512-10 ReLU, batch norm, dropout 0.2, label smoothing 0.1, AdamW, onecycle, shift+rotate+scale, batch 64, 200 epochs",
       {.layers = {784, 1024, 512, 10}, .batch_norm = "on", .optimizer = "adamw", .lr = 0.001, .weight_decay = 0.02, .schedule = "onecycle", .dropout = {0.2}, .label_smoothing = 0.1, .augment = "shift:2,rotate:10,scale:0.1", .data = "mnist-10k", .batch = 64, .epochs = 200, .report_every = 10}},
      {"best-mnist", "-",
       "784-1024-512-10 ReLU, dropout 0.2, label smoothing 0.1, AdamW, onecycle, shift+rotate, batch 128, 30 epochs",
       {.layers = {784, 1024, 512, 10}, .optimizer = "adamw", .lr = 0.001, .weight_decay = 0.02, .schedule = "onecycle", .dropout = {0.2}, .label_smoothing = 0.1, .augment = "shift:2,rotate:8", .data = "mnist", .batch = 128, .epochs = 30, .report_every = 5}},
  };
  // clang-format on
  return all;
}

const Preset& find_preset(std::string_view name) {
  std::vector<std::string> names;
  for (const auto& p : presets()) {
    if (p.name == name || (p.seed != "-" && "seed" + p.seed == name)) return p;
    names.push_back(p.name);
  }
  const auto near = closest_name(name, names);
  throw SettingError("preset",
                     fmt::format("'{}' is not a preset{} (known: {})", name,
                                 near ? fmt::format("; did you mean {}?", *near) : "", fmt::join(names, ", ")));
}

}  // namespace digitnet
