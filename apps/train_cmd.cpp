// digitnet train --data NAME|PATH [--preset NAME] [flags] [--save model.npz] [--json]
#include <algorithm>
#include <charconv>
#include <cstdio>
#include <memory>
#include <numeric>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "digitnet/fetch/catalog.hpp"
#include "digitnet/data/load.hpp"
#include "digitnet/core/error.hpp"
#include "digitnet/data/model.hpp"
#include "digitnet/nn/network.hpp"
#include "digitnet/train/normalize.hpp"
#include "presets.hpp"
#include "digitnet/train/trainer.hpp"
#include "terminal.hpp"

namespace digitnet::cli {
namespace {

struct TrainArgs {
  std::string data, preset, save, batch;
  TrainSettings s;  // values of the flags given; the rest are the preset's
  bool json = false;
  CLI::App* cmd = nullptr;
  bool given(const std::string& flag) const { return cmd->count(flag) > 0; }
};

int parse_batch(const std::string& text) {
  if (text == "full") return 0;
  int v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || v < 1)
    throw Error(fmt::format("--batch: '{}' is not a positive number or 'full'", text));
  return v;
}

std::vector<double> parse_dropout(const std::string& text) {
  std::vector<double> p;
  std::size_t pos = 0;
  while (pos <= text.size()) {
    const std::size_t comma = std::min(text.find(',', pos), text.size());
    const std::string item = text.substr(pos, comma - pos);
    double v = -1;
    const auto [end, ec] = std::from_chars(item.data(), item.data() + item.size(), v);
    if (item.empty() || ec != std::errc() || end != item.data() + item.size() || !(v >= 0 && v < 1))
      throw Error(fmt::format("--dropout: '{}' is not a probability in [0, 1) or a list of them", text));
    p.push_back(v);
    pos = comma + 1;
  }
  return p;
}

std::string percent(double a) { return fmt::format("{:.2f}%", 100.0 * a); }

// The settings: the preset's, then every flag given on the command line.
TrainSettings settings_from(const TrainArgs& a) {
  TrainSettings s = a.preset.empty() ? TrainSettings{} : find_preset(a.preset).settings;
  const TrainSettings& f = a.s;
#define DIGITNET_OVERRIDE(flag, field) \
  if (a.given(flag)) s.field = f.field;
  DIGITNET_OVERRIDE("--activation", activation)
  DIGITNET_OVERRIDE("--loss", loss)
  DIGITNET_OVERRIDE("--init", init)
  DIGITNET_OVERRIDE("--normalize", normalize)
  DIGITNET_OVERRIDE("--split", split)
  DIGITNET_OVERRIDE("--epochs", epochs)
  DIGITNET_OVERRIDE("--lr", lr)
  DIGITNET_OVERRIDE("--seed", seed)
  DIGITNET_OVERRIDE("--report-every", report_every)
  DIGITNET_OVERRIDE("--optimizer", optimizer)
  DIGITNET_OVERRIDE("--momentum", momentum)
  DIGITNET_OVERRIDE("--beta1", beta1)
  DIGITNET_OVERRIDE("--beta2", beta2)
  DIGITNET_OVERRIDE("--eps", eps)
  DIGITNET_OVERRIDE("--weight-decay", weight_decay)
  DIGITNET_OVERRIDE("--dropout", dropout)
  DIGITNET_OVERRIDE("--label-smoothing", label_smoothing)
  DIGITNET_OVERRIDE("--l2", l2)
  DIGITNET_OVERRIDE("--clip-norm", clip_norm)
  DIGITNET_OVERRIDE("--schedule", schedule)
  DIGITNET_OVERRIDE("--warmup", warmup)
  DIGITNET_OVERRIDE("--val", val)
  DIGITNET_OVERRIDE("--early-stop", early_stop)
  DIGITNET_OVERRIDE("--augment", augment)
#undef DIGITNET_OVERRIDE
  if (a.given("--batch")) s.batch = parse_batch(a.batch);
  return s;
}

void run_train(const TrainArgs& a) {
  const TrainSettings s = settings_from(a);
  const bool layers_given = a.given("--layers");
  // Check every value before the (slow) data load.
  Architecture arch{layers_given ? a.s.layers : s.layers,
                    parse_activation(s.activation), parse_loss(s.loss)};
  const Init init = parse_init(s.init);
  const auto norm_kind = Normalizer::parse_kind(s.normalize);
  const SplitSpec split = parse_split(s.split);
  if (!(s.val >= 0 && s.val < 1)) throw Error("--val: must be a fraction in [0, 1)");
  if (s.early_stop > 0 && s.val == 0) throw Error("--early-stop needs a validation set: add --val FRACTION");
  TrainOptions opt{.epochs = s.epochs, .batch = s.batch, .lr = s.lr, .seed = s.seed, .report_every = s.report_every};
  opt.optimizer = {parse_optimizer(s.optimizer), s.momentum, s.beta1, s.beta2, s.eps, s.weight_decay};
  opt.schedule = parse_schedule(s.schedule);
  opt.schedule.warmup_epochs = s.warmup;
  opt.l2 = s.l2;
  opt.clip_norm = s.clip_norm;
  opt.augment = s.augment == "none" ? Augment{} : parse_augment(s.augment);
  opt.early_stop = s.early_stop;
  const std::vector<double> dropout = parse_dropout(s.dropout);
  check_options(opt);
  check_label_smoothing(s.label_smoothing, arch.loss);

  DataSplit data = load_data(resolve_data(a.data, cli_fetch_options()), split, s.seed);
  const int features = data.train.features();
  if (!layers_given) {
    arch.sizes.front() = features;  // a preset's network adapts to the data's image size
  } else if (arch.inputs() != features) {
    throw Error(fmt::format("--layers: input size {} does not match the data ({} values per example, {}x{} images)",
                            arch.inputs(), features, data.train.height, data.train.width));
  }
  if (arch.classes() != kClasses)
    throw Error(fmt::format("--layers: output size {} does not match the data's {} classes", arch.classes(), kClasses));
  if (opt.augment.any() && data.train.height < 2)
    throw Error("--augment: needs image data (the examples have no 2-D shape)");
  Dataset val;
  if (s.val > 0) {  // a seeded share of the training part, never the test part
    std::vector<std::size_t> order(data.train.size());
    std::iota(order.begin(), order.end(), 0);
    Rng rng(s.seed, kSplitStream + 1);
    rng.shuffle(std::span<std::size_t>(order));
    const auto held = static_cast<std::size_t>(std::llround(s.val * double(order.size())));
    if (held == 0 || held >= order.size()) throw Error("--val: leaves no training or no validation examples");
    val = data.train.subset(std::span<const std::size_t>(order).first(held));
    Dataset rest = data.train.subset(std::span<const std::size_t>(order).subspan(held));
    data.train = std::move(rest);
  }

  const Normalizer norm = Normalizer::fit(norm_kind, data.train);
  Network<float> net(arch);
  Rng init_rng(s.seed, kInitStream);
  net.init(init, init_rng);
  if (std::any_of(dropout.begin(), dropout.end(), [](double p) { return p > 0; })) net.set_dropout(dropout, s.seed);
  net.set_label_smoothing(s.label_smoothing);
  Trainer trainer(net, norm, opt);

  const bool live = !a.json && stdout_is_terminal();
  if (!a.json) {
    fmt::print("training {} {}/{} on {} ({} train, {}{} test, split {})\n  batch {}, {} lr {}, {} epochs, seed {}, {} threads\n",
               layers_to_string(arch.sizes), s.activation, s.loss, data.train.name, data.train.size(),
               s.val > 0 ? fmt::format("{} validation, ", val.size()) : "", data.test.size(), data.split,
               s.batch == 0 ? std::string("full") : std::to_string(s.batch), s.optimizer, s.lr, s.epochs, s.seed,
               threads());
  }
  nlohmann::json history = nlohmann::json::array();
  int current_epoch = 1;
  const auto on_report = [&](const EpochReport& r) {
    const auto opt_json = [](const std::optional<double>& v) { return v ? nlohmann::json(*v) : nlohmann::json(); };
    nlohmann::json j = {{"epoch", r.epoch},
                        {"loss", r.loss},
                        {"train_accuracy", r.train_accuracy},
                        {"test_accuracy", opt_json(r.test_accuracy)},
                        {"seconds", r.seconds},
                        {"lr", r.lr}};
    if (s.val > 0) j["val_accuracy"] = opt_json(r.val_accuracy);
    history.push_back(j);
    current_epoch = r.epoch + 1;
    if (a.json) {
      fmt::print("{}\n", j.dump());
    } else {
      if (live) clear_line();
      fmt::print("epoch {:>4}  loss {:.4f}  train {:>7}{}  test {:>7}  {:.2f}s\n", r.epoch, r.loss,
                 percent(r.train_accuracy), r.val_accuracy ? "  val " + percent(*r.val_accuracy) : "",
                 r.test_accuracy ? percent(*r.test_accuracy) : "-", r.seconds);
    }
    std::fflush(stdout);
  };
  const auto on_progress = [&](std::size_t done, std::size_t total) {
    if (live && total > 1) show_progress(current_epoch, done, total);
  };
  const auto reports = trainer.fit(data.train, &data.test, on_report, on_progress, s.val > 0 ? &val : nullptr);
  const double test_acc = reports.back().test_accuracy.value_or(0.0);
  if (!a.json && s.early_stop > 0)
    fmt::print("kept the weights of epoch {}, the best on the validation set\n", trainer.best_epoch());

  if (!a.save.empty()) {
    nlohmann::json extra = {
        {"dataset", data.train.name},
        {"preset", a.preset.empty() ? nlohmann::json() : nlohmann::json(a.preset)},
        {"training",
         {{"init", s.init}, {"batch", s.batch == 0 ? nlohmann::json("full") : nlohmann::json(s.batch)},
          {"epochs", s.epochs}, {"lr", s.lr}, {"seed", s.seed}, {"split", data.split},
          {"optimizer", s.optimizer}, {"weight_decay", s.weight_decay}, {"schedule", to_string(opt.schedule)},
          {"warmup", s.warmup}, {"dropout", s.dropout},
          {"label_smoothing", s.label_smoothing}, {"l2", s.l2}, {"clip_norm", s.clip_norm},
          {"augment", to_string(opt.augment)}, {"val", s.val}, {"early_stop", s.early_stop},
          {"train_examples", data.train.size()}, {"test_examples", data.test.size()}}},
        {"history", history},
        {"test_accuracy", test_acc}};
    save_model(a.save, net, norm, data.train.height, data.train.width, extra);
  }
  if (a.json) {
    fmt::print("{}\n", nlohmann::json{{"test_accuracy", test_acc},
                                      {"model", a.save.empty() ? nlohmann::json() : nlohmann::json(a.save)}}
                           .dump());
  } else {
    fmt::print("test accuracy {} on {} examples\n", percent(test_acc), data.test.size());
    if (!a.save.empty()) fmt::print("model saved to {}\n", a.save);
  }
}

}  // namespace

void add_train_command(CLI::App& app) {
  auto a = std::make_shared<TrainArgs>();
  CLI::App* cmd = app.add_subcommand("train", "Train a network and report test accuracy");
  a->cmd = cmd;
  TrainSettings& s = a->s;
  cmd->add_option("--data", a->data, "Dataset name (mnist, fashion-mnist, digits, mnist-10k) or path: IDX directory, CSV, image folders")->required();
  cmd->add_option("--preset", a->preset, "Settings of a seed write-up or a best-* network (see 'digitnet presets')");
  cmd->add_option_function<std::string>("--layers", [a](const std::string& v) { a->s.layers = parse_layers(v); },
                                        "Layer sizes, e.g. 784,128,64,10");
  cmd->add_option("--activation", s.activation, "Hidden activation: relu|sigmoid|tanh");
  cmd->add_option("--loss", s.loss, "ce (softmax + cross-entropy) | mse (sigmoid + squared error)");
  cmd->add_option("--init", s.init, "he|xavier|lecun|normal:SIGMA|uniform:A");
  cmd->add_option("--batch", a->batch, "Batch size N, or 'full'");
  cmd->add_option("--epochs", s.epochs, "Passes over the training set");
  cmd->add_option("--lr", s.lr, "Learning rate for the batch-mean gradient (the schedule's peak)");
  cmd->add_option("--seed", s.seed, "Seed for init, shuffling, splits, dropout and augmentation");
  cmd->add_option("--normalize", s.normalize, "scale (to [0,1]) | zscore (per feature)");
  cmd->add_option("--split", s.split, "official | random:FRACTION | dev:COUNT");
  cmd->add_option("--report-every", s.report_every, "Epochs between report lines");
  cmd->add_option("--optimizer", s.optimizer, "sgd|momentum|nesterov|adam|adamw");
  cmd->add_option("--momentum", s.momentum, "Momentum factor (momentum, nesterov)");
  cmd->add_option("--beta1", s.beta1, "Adam's beta1");
  cmd->add_option("--beta2", s.beta2, "Adam's beta2");
  cmd->add_option("--eps", s.eps, "Adam's epsilon");
  cmd->add_option("--weight-decay", s.weight_decay, "Weight decay (PyTorch's: coupled for sgd/adam, decoupled for adamw)");
  cmd->add_option("--dropout", s.dropout, "Dropout probability for the hidden layers, or one per layer: 0.3,0.2");
  cmd->add_option("--label-smoothing", s.label_smoothing, "Cross-entropy label smoothing in [0, 1), as PyTorch's");
  cmd->add_option("--l2", s.l2, "L2 penalty l2/2 * sum of squared weights");
  cmd->add_option("--clip-norm", s.clip_norm, "Clip the gradient's global L2 norm to this");
  cmd->add_option("--schedule", s.schedule, "constant | step:EPOCHS:GAMMA | cosine | onecycle");
  cmd->add_option("--warmup", s.warmup, "Epochs of linear learning-rate warmup");
  cmd->add_option("--val", s.val, "Share of the training part held out for validation");
  cmd->add_option("--early-stop", s.early_stop, "Stop after this many epochs without a better validation accuracy");
  cmd->add_option("--augment", s.augment, "shift:PIXELS,rotate:DEGREES,elastic,flip (28x28 images)");
  cmd->add_option("--save", a->save, "Write the trained model to this .npz file");
  cmd->add_flag("--json", a->json, "JSON lines on stdout instead of text");
  add_threads_option(cmd);
  cmd->callback([a] { run_train(*a); });
}

void add_presets_command(CLI::App& app) {
  CLI::App* cmd = app.add_subcommand("presets", "List the presets (the seed write-ups and the best-* networks)");
  cmd->callback([] {
    for (const auto& p : presets())
      fmt::print("{:<20} {}  {}\n", p.name, p.seed == "-" ? "        " : "seed " + p.seed, p.summary);
  });
}

}  // namespace digitnet::cli
