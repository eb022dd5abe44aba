// digitnet train --data NAME|PATH [--preset NAME] [flags] [--save model.npz] [--json]
#include <algorithm>
#include <charconv>
#include <cstdio>
#include <memory>
#include <numeric>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "digitnet/core/error.hpp"
#include "digitnet/data/load.hpp"
#include "digitnet/data/model.hpp"
#include "digitnet/fetch/catalog.hpp"
#include "digitnet/nn/network.hpp"
#include "digitnet/train/normalize.hpp"
#include "digitnet/train/trainer.hpp"
#include "presets.hpp"
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

// Everything the flags say, each value checked, before the (slow) data load.
struct Plan {
  TrainSettings s;
  Architecture arch;
  bool layers_given = false;  // else the preset's network takes the data's input size
  Init init;
  Normalizer::Kind norm = Normalizer::scale;
  SplitSpec split;
  TrainOptions opt;
  std::vector<double> dropout;
};

Plan plan_from(const TrainArgs& a) {
  Plan p;
  p.s = settings_from(a);
  const TrainSettings& s = p.s;
  p.layers_given = a.given("--layers");
  p.arch = {p.layers_given ? a.s.layers : s.layers, parse_activation(s.activation), parse_loss(s.loss)};
  p.init = parse_init(s.init);
  p.norm = Normalizer::parse_kind(s.normalize);
  p.split = parse_split(s.split);
  if (!(s.val >= 0 && s.val < 1)) throw Error("--val: must be a fraction in [0, 1)");
  if (s.early_stop > 0 && s.val == 0) throw Error("--early-stop needs a validation set: add --val FRACTION");
  TrainOptions& opt = p.opt;
  opt = {.epochs = s.epochs, .batch = s.batch, .lr = s.lr, .seed = s.seed, .report_every = s.report_every};
  opt.optimizer = {parse_optimizer(s.optimizer), s.momentum, s.beta1, s.beta2, s.eps, s.weight_decay};
  opt.schedule = parse_schedule(s.schedule);
  opt.schedule.warmup_epochs = s.warmup;
  opt.l2 = s.l2;
  opt.clip_norm = s.clip_norm;
  opt.augment = s.augment == "none" ? Augment{} : parse_augment(s.augment);
  opt.early_stop = s.early_stop;
  p.dropout = parse_dropout(s.dropout);
  check_options(opt);
  check_label_smoothing(s.label_smoothing, p.arch.loss);
  return p;
}

// The data: its training and test parts, a validation share when asked for; the network's
// input and output sizes are checked against it (a preset's input size adapts to it).
struct TrainData {
  DataSplit split;
  Dataset val;
};

TrainData load_train_data(const std::string& spec, Plan& p) {
  TrainData d{load_data(resolve_data(spec, cli_fetch_options()), p.split, p.s.seed)};
  const Dataset& train = d.split.train;
  const int features = train.features();
  if (!p.layers_given) {
    p.arch.sizes.front() = features;
  } else if (p.arch.inputs() != features) {
    throw Error(fmt::format("--layers: input size {} does not match the data ({} values per example, {}x{} images)",
                            p.arch.inputs(), features, train.height, train.width));
  }
  if (p.arch.classes() != kClasses)
    throw Error(
        fmt::format("--layers: output size {} does not match the data's {} classes", p.arch.classes(), kClasses));
  if (p.opt.augment.any() && train.height < 2)
    throw Error("--augment: needs image data (the examples have no 2-D shape)");
  if (p.s.val > 0) d.val = hold_out(d.split.train, p.s.val, p.s.seed);  // never from the test part
  return d;
}

Network<float> build_network(const Plan& p) {
  Network<float> net(p.arch);
  Rng init_rng(p.s.seed, kInitStream);
  net.init(p.init, init_rng);
  if (std::any_of(p.dropout.begin(), p.dropout.end(), [](double v) { return v > 0; }))
    net.set_dropout(p.dropout, p.s.seed);
  net.set_label_smoothing(p.s.label_smoothing);
  return net;
}

// What a run prints: a header, a line (or a JSON object) per report, a progress bar on a
// terminal; it also keeps the history for the model file.
class TrainOutput {
 public:
  TrainOutput(bool json, bool validating)
      : json_(json), validating_(validating), live_(!json && stdout_is_terminal()) {}

  void header(const Plan& p, const TrainData& d) const {
    if (json_) return;
    const TrainSettings& s = p.s;
    fmt::print(
        "training {} {}/{} on {} ({} train, {}{} test, split {})\n  batch {}, {} lr {}, {} epochs, seed {}, {} "
        "threads\n",
        layers_to_string(p.arch.sizes), s.activation, s.loss, d.split.train.name, d.split.train.size(),
        s.val > 0 ? fmt::format("{} validation, ", d.val.size()) : "", d.split.test.size(), d.split.split,
        s.batch == 0 ? std::string("full") : std::to_string(s.batch), s.optimizer, s.lr, s.epochs, s.seed, threads());
  }

  void report(const EpochReport& r) {
    const auto opt_json = [](const std::optional<double>& v) { return v ? nlohmann::json(*v) : nlohmann::json(); };
    nlohmann::json j = {{"epoch", r.epoch},
                        {"loss", r.loss},
                        {"train_accuracy", r.train_accuracy},
                        {"test_accuracy", opt_json(r.test_accuracy)},
                        {"seconds", r.seconds},
                        {"lr", r.lr}};
    if (validating_) j["val_accuracy"] = opt_json(r.val_accuracy);
    history_.push_back(j);
    epoch_ = r.epoch + 1;
    if (json_) {
      fmt::print("{}\n", j.dump());
    } else {
      if (live_) clear_line();
      fmt::print("epoch {:>4}  loss {:.4f}  train {:>7}{}  test {:>7}  {:.2f}s\n", r.epoch, r.loss,
                 percent(r.train_accuracy), r.val_accuracy ? "  val " + percent(*r.val_accuracy) : "",
                 r.test_accuracy ? percent(*r.test_accuracy) : "-", r.seconds);
    }
    std::fflush(stdout);
  }

  void progress(std::size_t done, std::size_t total) const {
    if (live_ && total > 1) show_progress(epoch_, done, total);
  }

  void result(double test_acc, std::size_t examples, const std::string& saved) const {
    if (json_) {
      fmt::print("{}\n", nlohmann::json{{"test_accuracy", test_acc},
                                        {"model", saved.empty() ? nlohmann::json() : nlohmann::json(saved)}}
                             .dump());
      return;
    }
    fmt::print("test accuracy {} on {} examples\n", percent(test_acc), examples);
    if (!saved.empty()) fmt::print("model saved to {}\n", saved);
  }

  const nlohmann::json& history() const { return history_; }

 private:
  bool json_, validating_, live_;
  int epoch_ = 1;
  nlohmann::json history_ = nlohmann::json::array();
};

// The model file: the weights, and in its config how it was trained and what it scored.
void save_trained(const std::string& path, const TrainArgs& a, const Plan& p, const TrainData& d,
                  const Network<float>& net, const Normalizer& norm, const nlohmann::json& history, double test_acc) {
  const TrainSettings& s = p.s;
  const Dataset& train = d.split.train;
  const nlohmann::json extra = {{"dataset", train.name},
                                {"preset", a.preset.empty() ? nlohmann::json() : nlohmann::json(a.preset)},
                                {"training",
                                 {{"init", s.init},
                                  {"batch", s.batch == 0 ? nlohmann::json("full") : nlohmann::json(s.batch)},
                                  {"epochs", s.epochs},
                                  {"lr", s.lr},
                                  {"seed", s.seed},
                                  {"split", d.split.split},
                                  {"optimizer", s.optimizer},
                                  {"weight_decay", s.weight_decay},
                                  {"schedule", to_string(p.opt.schedule)},
                                  {"warmup", s.warmup},
                                  {"dropout", s.dropout},
                                  {"label_smoothing", s.label_smoothing},
                                  {"l2", s.l2},
                                  {"clip_norm", s.clip_norm},
                                  {"augment", to_string(p.opt.augment)},
                                  {"val", s.val},
                                  {"early_stop", s.early_stop},
                                  {"train_examples", train.size()},
                                  {"test_examples", d.split.test.size()}}},
                                {"history", history},
                                {"test_accuracy", test_acc}};
  save_model(path, net, norm, train.height, train.width, extra);
}

void run_train(const TrainArgs& a) {
  Plan plan = plan_from(a);
  const TrainData data = load_train_data(a.data, plan);
  const Normalizer norm = Normalizer::fit(plan.norm, data.split.train);
  Network<float> net = build_network(plan);
  Trainer trainer(net, norm, plan.opt);

  TrainOutput out(a.json, plan.s.val > 0);
  out.header(plan, data);
  const auto reports = trainer.fit(
      data.split.train, &data.split.test, [&](const EpochReport& r) { out.report(r); },
      [&](std::size_t done, std::size_t total) { out.progress(done, total); }, plan.s.val > 0 ? &data.val : nullptr);
  const double test_acc = reports.back().test_accuracy.value_or(0.0);
  if (!a.json && plan.s.early_stop > 0)
    fmt::print("kept the weights of epoch {}, the best on the validation set\n", trainer.best_epoch());

  if (!a.save.empty()) save_trained(a.save, a, plan, data, net, norm, out.history(), test_acc);
  out.result(test_acc, data.split.test.size(), a.save);
}

}  // namespace

void add_train_command(CLI::App& app) {
  auto a = std::make_shared<TrainArgs>();
  CLI::App* cmd = app.add_subcommand("train", "Train a network and report test accuracy");
  a->cmd = cmd;
  TrainSettings& s = a->s;
  cmd->add_option("--data", a->data,
                  "Dataset name (mnist, fashion-mnist, digits, mnist-10k) or path: IDX directory, CSV, image folders")
      ->required();
  cmd->add_option("--preset", a->preset, "Settings of a seed write-up or a best-* network (see 'digitnet presets')");
  cmd->add_option_function<std::string>(
      "--layers", [a](const std::string& v) { a->s.layers = parse_layers(v); }, "Layer sizes, e.g. 784,128,64,10");
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
  cmd->add_option("--weight-decay", s.weight_decay,
                  "Weight decay (PyTorch's: coupled for sgd/adam, decoupled for adamw)");
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
