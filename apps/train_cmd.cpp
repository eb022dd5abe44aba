// digitnet train --data PATH [--preset NAME] [flags] [--save model.npz] [--json]
#include <charconv>
#include <cstdio>
#include <memory>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "digitnet/catalog.hpp"
#include "digitnet/dataset.hpp"
#include "digitnet/error.hpp"
#include "digitnet/model.hpp"
#include "digitnet/network.hpp"
#include "digitnet/normalize.hpp"
#include "digitnet/presets.hpp"
#include "digitnet/trainer.hpp"
#include "terminal.hpp"

namespace digitnet::cli {
namespace {

struct TrainArgs {
  std::string data, preset, save;
  std::string layers, activation, loss, init, batch, normalize, split;
  int epochs = 0, report_every = 0;
  double lr = 0;
  std::uint64_t seed = 0;
  bool json = false;
  // Which flags were given, so they override the preset.
  CLI::Option *o_layers, *o_activation, *o_loss, *o_init, *o_batch, *o_normalize, *o_split, *o_epochs, *o_lr,
      *o_seed, *o_report;
};

int parse_batch(const std::string& text) {
  if (text == "full") return 0;
  int v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || v < 1)
    throw Error(fmt::format("--batch: '{}' is not a positive number or 'full'", text));
  return v;
}

std::string percent(double a) { return fmt::format("{:.2f}%", 100.0 * a); }

void run_train(const TrainArgs& a) {
  TrainSettings s = a.preset.empty() ? TrainSettings{} : find_preset(a.preset).settings;
  const bool layers_given = a.o_layers->count() > 0;
  if (layers_given) s.layers = parse_layers(a.layers);
  if (a.o_activation->count()) s.activation = a.activation;
  if (a.o_loss->count()) s.loss = a.loss;
  if (a.o_init->count()) s.init = a.init;
  if (a.o_batch->count()) s.batch = parse_batch(a.batch);
  if (a.o_normalize->count()) s.normalize = a.normalize;
  if (a.o_split->count()) s.split = a.split;
  if (a.o_epochs->count()) s.epochs = a.epochs;
  if (a.o_lr->count()) s.lr = a.lr;
  if (a.o_seed->count()) s.seed = a.seed;
  if (a.o_report->count()) s.report_every = a.report_every;
  // Check every value before the (slow) data load.
  Architecture arch{s.layers, parse_activation(s.activation), parse_loss(s.loss)};
  const Init init = parse_init(s.init);
  const auto norm_kind = Normalizer::parse_kind(s.normalize);
  const SplitSpec split = parse_split(s.split);
  if (s.epochs < 1) throw Error("--epochs: must be at least 1");
  if (!(s.lr > 0) || !std::isfinite(s.lr)) throw Error("--lr: must be a positive number");
  if (s.report_every < 1) throw Error("--report-every: must be at least 1");

  const DataSplit data = load_data(resolve_data(a.data, cli_fetch_options()), split, s.seed);
  const int features = data.train.features();
  if (!layers_given) {
    arch.sizes.front() = features;  // a preset's network adapts to the data's image size
  } else if (arch.inputs() != features) {
    throw Error(fmt::format("--layers: input size {} does not match the data ({} values per example, {}x{} images)",
                            arch.inputs(), features, data.train.height, data.train.width));
  }
  if (arch.classes() != kClasses)
    throw Error(fmt::format("--layers: output size {} does not match the data's {} classes", arch.classes(), kClasses));

  const Normalizer norm = Normalizer::fit(norm_kind, data.train);
  Network<float> net(arch);
  Rng init_rng(s.seed, kInitStream);
  net.init(init, init_rng);
  Trainer trainer(net, norm, {s.epochs, s.batch, s.lr, s.seed, s.report_every});

  const bool live = !a.json && stdout_is_terminal();
  if (!a.json)
    fmt::print("training {} {}/{} on {} ({} train, {} test, split {}); batch {}, lr {}, {} epochs, seed {}, {} threads\n",
               layers_to_string(arch.sizes), s.activation, s.loss, data.train.name, data.train.size(),
               data.test.size(), data.split, s.batch == 0 ? std::string("full") : std::to_string(s.batch), s.lr,
               s.epochs, s.seed, threads());
  nlohmann::json history = nlohmann::json::array();
  int current_epoch = 1;
  const auto on_report = [&](const EpochReport& r) {
    nlohmann::json j = {{"epoch", r.epoch},
                        {"loss", r.loss},
                        {"train_accuracy", r.train_accuracy},
                        {"test_accuracy", r.test_accuracy ? nlohmann::json(*r.test_accuracy) : nlohmann::json()},
                        {"seconds", r.seconds}};
    history.push_back(j);
    current_epoch = r.epoch + 1;
    if (a.json) {
      fmt::print("{}\n", j.dump());
    } else {
      if (live) clear_line();
      fmt::print("epoch {:>4}  loss {:.4f}  train {:>7}  test {:>7}  {:.2f}s\n", r.epoch, r.loss,
                 percent(r.train_accuracy), r.test_accuracy ? percent(*r.test_accuracy) : "-", r.seconds);
    }
    std::fflush(stdout);
  };
  const auto on_progress = [&](std::size_t done, std::size_t total) {
    if (live && total > 1) show_progress(current_epoch, done, total);
  };
  const auto reports = trainer.fit(data.train, &data.test, on_report, on_progress);
  const double test_acc = reports.back().test_accuracy.value_or(0.0);

  if (!a.save.empty()) {
    nlohmann::json extra = {
        {"dataset", data.train.name},
        {"preset", a.preset.empty() ? nlohmann::json() : nlohmann::json(a.preset)},
        {"training",
         {{"init", s.init}, {"batch", s.batch == 0 ? nlohmann::json("full") : nlohmann::json(s.batch)},
          {"epochs", s.epochs}, {"lr", s.lr}, {"seed", s.seed}, {"split", data.split},
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
    fmt::print("test accuracy {} on {} examples{}\n", percent(test_acc), data.test.size(),
               a.save.empty() ? "" : fmt::format("; model saved to {}", a.save));
  }
}

}  // namespace

void add_train_command(CLI::App& app) {
  auto a = std::make_shared<TrainArgs>();
  CLI::App* cmd = app.add_subcommand("train", "Train a network and report test accuracy");
  cmd->add_option("--data", a->data, "Dataset name (mnist, fashion-mnist, digits, mnist-10k) or path: IDX directory, CSV, image folders")->required();
  cmd->add_option("--preset", a->preset, "Settings of a seed write-up (see 'digitnet presets')");
  a->o_layers = cmd->add_option("--layers", a->layers, "Layer sizes, e.g. 784,128,64,10");
  a->o_activation = cmd->add_option("--activation", a->activation, "Hidden activation: relu|sigmoid|tanh");
  a->o_loss = cmd->add_option("--loss", a->loss, "ce (softmax + cross-entropy) | mse (sigmoid + squared error)");
  a->o_init = cmd->add_option("--init", a->init, "he|xavier|lecun|normal:SIGMA|uniform:A");
  a->o_batch = cmd->add_option("--batch", a->batch, "Batch size N, or 'full'");
  a->o_epochs = cmd->add_option("--epochs", a->epochs, "Passes over the training set");
  a->o_lr = cmd->add_option("--lr", a->lr, "Learning rate for the batch-mean gradient");
  a->o_seed = cmd->add_option("--seed", a->seed, "Seed for init, shuffling and random splits");
  a->o_normalize = cmd->add_option("--normalize", a->normalize, "scale (to [0,1]) | zscore (per feature)");
  a->o_split = cmd->add_option("--split", a->split, "official | random:FRACTION | dev:COUNT");
  a->o_report = cmd->add_option("--report-every", a->report_every, "Epochs between report lines");
  cmd->add_option("--save", a->save, "Write the trained model to this .npz file");
  cmd->add_flag("--json", a->json, "JSON lines on stdout instead of text");
  add_threads_option(cmd);
  cmd->callback([a] { run_train(*a); });
}

void add_presets_command(CLI::App& app) {
  CLI::App* cmd = app.add_subcommand("presets", "List the presets (one per seed write-up)");
  cmd->callback([] {
    for (const auto& p : presets()) fmt::print("{:<20} seed {}  {}\n", p.name, p.seed, p.summary);
  });
}

}  // namespace digitnet::cli
