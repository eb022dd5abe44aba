#include "presets.hpp"

#include <fmt/format.h>

#include "digitnet/core/error.hpp"

namespace digitnet {

const std::vector<Preset>& presets() {
  // lr is always for the batch-mean gradient (PyTorch's convention).
  // A table, one preset to a few lines.
  // clang-format off
  static const std::vector<Preset> all = {
      {"relu-128-64", "000",
       "784-128-64-10 ReLU, softmax+CE, He init, batch 32, lr 0.32 (the notebook's summed-gradient lr 0.01), 50 epochs",
       {.layers = {784, 128, 64, 10}, .batch = 32, .epochs = 50, .lr = 0.32}},
      {"digits-relu-32", "001",
       "8x8 digits z-scored, 64-32-10 ReLU, randn*0.1 init, full batch, lr 0.1, 1000 epochs, seed 42",
       {.layers = {64, 32, 10}, .init = "normal:0.1", .normalize = "zscore", .split = "random:0.2", .batch = 0,
        .epochs = 1000, .lr = 0.1, .seed = 42, .report_every = 100}},
      {"digits-softmax", "001",
       "8x8 digits z-scored, 64-10 softmax, randn*0.1 init, full batch, lr 0.1, 1000 epochs, seed 42",
       {.layers = {64, 10}, .init = "normal:0.1", .normalize = "zscore", .split = "random:0.2", .batch = 0,
        .epochs = 1000, .lr = 0.1, .seed = 42, .report_every = 100}},
      {"sigmoid-mse-20x3", "002",
       "784-20-20-20-10 sigmoid, sigmoid output + MSE, randn init, batch 10, lr 1.5, 30 epochs",
       {.layers = {784, 20, 20, 20, 10}, .activation = "sigmoid", .loss = "mse", .init = "normal:1", .batch = 10,
        .epochs = 30, .lr = 1.5}},
      {"relu-10-dev", "003",
       "784-10-10 ReLU, softmax+CE, uniform(-0.5,0.5) init, full batch, lr 0.1, 500 epochs, 1000-example dev split",
       {.layers = {784, 10, 10}, .init = "uniform:0.5", .split = "dev:1000", .batch = 0, .epochs = 500, .lr = 0.1,
        .report_every = 50}},
      {"relu-128-fullbatch", "004",
       "784-128-10 ReLU, softmax+CE, N(0,1/fan_in) init, full batch, lr 0.03, 40 epochs, random 80/20 split, seed 42",
       {.layers = {784, 128, 10}, .init = "lecun", .split = "random:0.2", .batch = 0, .epochs = 40, .lr = 0.03,
        .seed = 42, .report_every = 2}},
      // The best fully-connected networks for about a minute on 2 cores (README gives the results).
      {"best-fashion-mnist", "-",
       "784-1024-256-10 ReLU, dropout 0.2, label smoothing 0.1, AdamW, cosine, flips, batch 128, 40 epochs",
       {.layers = {784, 1024, 256, 10}, .batch = 128, .epochs = 40, .lr = 0.001, .report_every = 4,
        .optimizer = "adamw", .weight_decay = 0.01, .dropout = "0.2", .label_smoothing = 0.1, .schedule = "cosine",
        .augment = "flip"}},
      {"best-digits", "-",
       "8x8 digits z-scored, 64-256-128-10 ReLU, dropout 0.2, AdamW, cosine, batch 32, 150 epochs",
       {.layers = {64, 256, 128, 10}, .normalize = "zscore", .split = "random:0.2", .batch = 32, .epochs = 150,
        .lr = 0.001, .seed = 42, .report_every = 10, .optimizer = "adamw", .weight_decay = 0.01, .dropout = "0.2",
        .schedule = "cosine"}},
      {"best-mnist-10k", "-",
       "784-1024-512-10 ReLU, dropout 0.2, label smoothing 0.1, AdamW, onecycle, shift+rotate, batch 64, 100 epochs",
       {.layers = {784, 1024, 512, 10}, .batch = 64, .epochs = 100, .lr = 0.001, .report_every = 10,
        .optimizer = "adamw", .weight_decay = 0.02, .dropout = "0.2", .label_smoothing = 0.1, .schedule = "onecycle",
        .augment = "shift:2,rotate:8"}},
      {"best-mnist", "-",
       "784-1024-512-10 ReLU, dropout 0.2, label smoothing 0.1, AdamW, onecycle, shift+rotate, batch 128, 30 epochs",
       {.layers = {784, 1024, 512, 10}, .batch = 128, .epochs = 30, .lr = 0.001, .report_every = 5,
        .optimizer = "adamw", .weight_decay = 0.02, .dropout = "0.2", .label_smoothing = 0.1, .schedule = "onecycle",
        .augment = "shift:2,rotate:8"}},
  };
  // clang-format on
  return all;
}

// Every field, in one list for both directions.
// clang-format off
#define DIGITNET_SETTINGS(X)                                                                              \
  X(layers) X(activation) X(loss) X(init) X(normalize) X(split) X(batch) X(epochs) X(lr) X(seed)          \
  X(report_every) X(optimizer) X(momentum) X(beta1) X(beta2) X(eps) X(weight_decay) X(dropout)           \
  X(label_smoothing) X(l2) X(clip_norm) X(schedule) X(warmup) X(val) X(early_stop) X(augment)
// clang-format on

nlohmann::json settings_json(const TrainSettings& s) {
  nlohmann::json j;
#define DIGITNET_PUT(field) j[#field] = s.field;
  DIGITNET_SETTINGS(DIGITNET_PUT)
#undef DIGITNET_PUT
  return j;
}

TrainSettings settings_from_json(const nlohmann::json& j, const std::string& what) {
  TrainSettings s;
  try {
#define DIGITNET_GET(field) j.at(#field).get_to(s.field);
    DIGITNET_SETTINGS(DIGITNET_GET)
#undef DIGITNET_GET
  } catch (const nlohmann::json::exception& e) {
    throw Error(fmt::format("{}: the run's settings are missing or wrong ({})", what, e.what()));
  }
  return s;
}

const Preset& find_preset(std::string_view name) {
  std::string names;
  for (const auto& p : presets()) {
    if (p.name == name || (p.seed != "-" && "seed" + p.seed == name)) return p;
    names += (names.empty() ? "" : ", ") + p.name;
  }
  throw Error(fmt::format("--preset: unknown preset '{}' (known: {})", name, names));
}

}  // namespace digitnet
