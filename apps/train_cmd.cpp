// digitnet train --data NAME|PATH [--preset NAME] [flags] [--save model.npz] [--checkpoint F] [--json]
// digitnet train --resume F [--epochs N] [--save model.npz]
#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <memory>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "digitnet/core/error.hpp"
#include "digitnet/data/checkpoint.hpp"
#include "digitnet/data/file.hpp"
#include "digitnet/data/load.hpp"
#include "digitnet/data/model.hpp"
#include "digitnet/fetch/catalog.hpp"
#include "digitnet/fetch/download.hpp"
#include "digitnet/nn/network.hpp"
#include "digitnet/train/normalize.hpp"
#include "digitnet/train/trainer.hpp"
#include "dist/world.hpp"
#include "presets.hpp"
#include "sweep.hpp"
#include "terminal.hpp"

namespace digitnet::cli {
namespace {

struct TrainArgs {
  std::string data, preset, save, batch, checkpoint, resume;
  std::string reduce = "ordered";  // how several processes share a batch (train/distributed.hpp)
  int micro_batch = 32;
  TrainSettings s;  // values of the flags given; the rest are the preset's (or the checkpoint's)
  bool json = false;
  int checkpoint_every = 1;
  double checkpoint_seconds = 0;
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

// The settings: `base` (the preset's, or a resumed run's), then every flag given.
TrainSettings settings_from(const TrainArgs& a, TrainSettings s) {
  const TrainSettings& f = a.s;
#define DIGITNET_OVERRIDE(flag, field) \
  if (a.given(flag)) s.field = f.field;
  DIGITNET_OVERRIDE("--layers", layers)
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
  Reduction reduce = Reduction::ordered;  // across processes (train/distributed.hpp)
  int micro_batch = 32;
};

Plan plan_from(const TrainSettings& s, bool layers_given) {
  Plan p;
  p.s = s;
  p.layers_given = layers_given;
  p.arch = {s.layers, parse_activation(s.activation), parse_loss(s.loss)};
  p.init = parse_init(s.init);
  p.norm = Normalizer::parse_kind(s.normalize);
  p.split = parse_split(s.split);
  if (!(s.val >= 0 && s.val < 1)) throw Error(fmt::format("--val: {} is not a fraction in [0, 1)", s.val));
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

// SHA-256 of every example of every part: a resumed run must train on the very same data.
std::string data_digest(const TrainData& d);

// Processes that share a run must hold the same data: one that does not is named.
void same_data_everywhere(dist::World& world, const TrainData& d) {
  const std::string mine = data_digest(d);
  const std::vector<Bytes> all = world.gather({reinterpret_cast<const std::uint8_t*>(mine.data()), mine.size()});
  for (int r = 1; r < world.size(); ++r)
    if (all[r] != all[0])
      throw Error(
          fmt::format("--data: {} has other data than {} (their SHA-256 differ): every process must read the "
                      "same files",
                      world.name(r), world.name(0)));
}

std::string data_digest(const TrainData& d) {
  Bytes all;
  for (const Dataset* part : {&d.split.train, &d.split.test, &d.val}) {
    all.insert(all.end(), part->pixels.begin(), part->pixels.end());
    all.insert(all.end(), part->labels.begin(), part->labels.end());
  }
  return digest(all, "sha256");
}

void build_network(const Plan& p, Network<float>& net) {
  Rng init_rng(p.s.seed, kInitStream);
  net.init(p.init, init_rng);
  if (std::any_of(p.dropout.begin(), p.dropout.end(), [](double v) { return v > 0; }))
    net.set_dropout(p.dropout, p.s.seed);
  net.set_label_smoothing(p.s.label_smoothing);
}

nlohmann::json report_json(const EpochReport& r, bool validating) {
  const auto opt_json = [](const std::optional<double>& v) { return v ? nlohmann::json(*v) : nlohmann::json(); };
  nlohmann::json j = {{"epoch", r.epoch},
                      {"loss", r.loss},
                      {"train_accuracy", r.train_accuracy},
                      {"test_accuracy", opt_json(r.test_accuracy)},
                      {"seconds", r.seconds},
                      {"lr", r.lr}};
  if (validating) j["val_accuracy"] = opt_json(r.val_accuracy);
  return j;
}

// Under mpirun: " x 2 processes (--reduce ordered)".
std::string processes_text(const Plan& p) {
  const int n = dist::World::get().size();
  if (n == 1 && p.reduce == Reduction::ordered) return "";
  return fmt::format(" x {} process{} (--reduce {}{})", n, n == 1 ? "" : "es", to_string(p.reduce),
                     p.reduce == Reduction::exact ? fmt::format(", micro-batches of {}", p.micro_batch) : "");
}

// What a run prints: a header, a line (or a JSON object) per report, a progress bar on a
// terminal.
class TrainOutput {
 public:
  TrainOutput(bool json, bool validating, int next_epoch)
      : json_(json),
        validating_(validating),
        // under mpirun, rank 0's stdout is a pseudo-terminal whatever mpirun's own is
        live_(!json && stdout_is_terminal() && dist::World::get().size() == 1),
        epoch_(next_epoch) {}

  void header(const Plan& p, const TrainData& d) const {
    if (json_) return;
    const TrainSettings& s = p.s;
    fmt::print(
        "training {} {}/{} on {} ({} train, {}{} test, split {})\n  batch {}, {} lr {}, {} epochs, seed {}, {} "
        "threads{}\n",
        layers_to_string(p.arch.sizes), s.activation, s.loss, d.split.train.name, d.split.train.size(),
        s.val > 0 ? fmt::format("{} validation, ", d.val.size()) : "", d.split.test.size(), d.split.split,
        s.batch == 0 ? std::string("full") : std::to_string(s.batch), s.optimizer, s.lr, s.epochs, s.seed, threads(),
        processes_text(p));
    std::fflush(stdout);
  }

  void report(const EpochReport& r) {
    epoch_ = r.epoch + 1;
    if (json_) {
      fmt::print("{}\n", report_json(r, validating_).dump());
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

 private:
  bool json_, validating_, live_;
  int epoch_;
};

// A run: what is trained and how, its data, network and trainer; new, or from a checkpoint.
// (The trainer holds references to the network and normaliser, so a Run stays where it is made.)
struct Run {
  Plan plan;
  TrainData data;
  Normalizer norm;
  std::unique_ptr<Network<float>> net;
  std::unique_ptr<Trainer> trainer;
  nlohmann::json description;  // what a checkpoint keeps of the run
  std::string save, checkpoint;
  std::string resumed_from;
  bool shared = false;  // with other processes (train/distributed.hpp)
};

// What a checkpoint records of a run, to resume it and to refuse a resume that would change it.
nlohmann::json describe(const TrainArgs& a, const Plan& p, const TrainData& d) {
  std::error_code ec;
  const bool path = std::filesystem::exists(a.data, ec);  // else a dataset's name
  return {{"data", path ? std::filesystem::absolute(a.data, ec).string() : a.data},
          {"preset", a.preset},
          {"layers_given", p.layers_given},
          {"settings", settings_json(p.s)},
          {"data_sha256", data_digest(d)},
          {"save", a.save},
          {"processes", dist::World::get().size()},
          {"reduce", to_string(p.reduce)},
          {"micro_batch", p.micro_batch}};
}

void new_run(const TrainArgs& a, Run& run) {
  if (a.data.empty()) throw Error("--data: required (a dataset name or path), unless --resume is given");
  const TrainSettings base = a.preset.empty() ? TrainSettings{} : find_preset(a.preset).settings;
  run.plan = plan_from(settings_from(a, base), a.given("--layers"));
  run.plan.reduce = parse_reduction(a.reduce);
  run.plan.micro_batch = a.micro_batch;
  if (a.micro_batch < 1 || a.micro_batch > 256)
    throw Error(fmt::format("--micro-batch: {} is not a whole number from 1 to 256", a.micro_batch));
  run.data = load_train_data(a.data, run.plan);
  run.norm = Normalizer::fit(run.plan.norm, run.data.split.train);
  run.net = std::make_unique<Network<float>>(run.plan.arch);
  build_network(run.plan, *run.net);
  run.trainer = std::make_unique<Trainer>(*run.net, run.norm, run.plan.opt);
  if (!a.checkpoint.empty()) run.description = describe(a, run.plan, run.data);
}

// The flags given with --resume that would change the run, by name ("--epochs" may grow).
std::vector<std::string> changed_flags(const TrainArgs& a, const TrainSettings& stored) {
  const nlohmann::json before = settings_json(stored), after = settings_json(settings_from(a, stored));
  std::vector<std::string> changed;
  for (const auto& [key, value] : before.items()) {
    if (key == "epochs" || after[key] == value) continue;
    std::string flag = "--" + key;
    std::replace(flag.begin(), flag.end(), '_', '-');
    changed.push_back(flag);
  }
  return changed;
}

// How the run was shared between processes: an ordered run resumes on as many as it had, an
// exact one on any number (its bits do not depend on it).
void resume_distribution(const TrainArgs& a, const nlohmann::json& r, Plan& p) {
  const auto stored = [&](const char* key, const nlohmann::json& otherwise) {
    return r.contains(key) ? r[key] : otherwise;  // checkpoints before MPI: one process, ordered
  };
  const nlohmann::json reduce = stored("reduce", "ordered"), micro = stored("micro_batch", 32),
                       processes = stored("processes", 1);
  if (!reduce.is_string() || !micro.is_number_integer() || !processes.is_number_integer())
    throw Error(
        fmt::format("{}: the run's 'reduce', 'micro_batch' or 'processes' is not what a checkpoint holds", a.resume));
  p.reduce = parse_reduction(reduce.get<std::string>());
  p.micro_batch = micro.get<int>();
  if ((a.given("--reduce") && parse_reduction(a.reduce) != p.reduce) ||
      (a.given("--micro-batch") && a.micro_batch != p.micro_batch))
    throw Error(fmt::format("--resume: {} was trained with --reduce {} (micro-batches of {}); a resumed run keeps it",
                            a.resume, reduce.get<std::string>(), p.micro_batch));
  const int n = dist::World::get().size();
  if (p.reduce == Reduction::ordered && processes.get<int>() != n)
    throw Error(fmt::format(
        "--resume: {} was trained by {} process{} with --reduce ordered, whose bits depend on that number: resume it "
        "with mpirun -np {} (a run with --reduce exact resumes on any number)",
        a.resume, processes.get<int>(), processes.get<int>() == 1 ? "" : "es", processes.get<int>()));
}

void resumed_run(const TrainArgs& a, Run& run, const Bytes& checkpoint) {
  const Checkpoint ck = parse_checkpoint(checkpoint, a.resume);
  const nlohmann::json& r = ck.run;
  const auto text = [&](const char* key) {
    if (!r.contains(key) || !r[key].is_string())
      throw Error(fmt::format("{}: the run's '{}' is missing", a.resume, key));
    return r[key].get<std::string>();
  };
  const TrainSettings stored = settings_from_json(r.value("settings", nlohmann::json()), a.resume);
  std::vector<std::string> changed = changed_flags(a, stored);
  if (a.given("--data") && a.data != text("data")) {
    std::error_code ec;
    if (!std::filesystem::exists(a.data, ec) || std::filesystem::absolute(a.data, ec).string() != text("data"))
      changed.insert(changed.begin(), "--data");
  }
  if (a.given("--preset") && a.preset != text("preset")) changed.insert(changed.begin(), "--preset");
  if (!changed.empty())
    throw Error(
        fmt::format("--resume: {} would change the run {} was made by; a resumed run keeps its settings "
                    "(only --epochs may grow)",
                    fmt::join(changed, ", "), a.resume));
  TrainSettings s = stored;
  if (a.given("--epochs")) {
    if (a.s.epochs < stored.epochs)
      throw Error(fmt::format("--epochs: {} is fewer than the resumed run's {}", a.s.epochs, stored.epochs));
    s.epochs = a.s.epochs;
  }
  run.plan = plan_from(s, r.value("layers_given", false));
  resume_distribution(a, r, run.plan);
  run.data = load_train_data(text("data"), run.plan);
  if (data_digest(run.data) != text("data_sha256"))
    throw Error(fmt::format("--resume: the data at {} is not the data {} was trained on (its SHA-256 differs)",
                            text("data"), a.resume));
  if (run.plan.arch.sizes != ck.layers)
    throw Error(fmt::format("{}: its network {} does not match its settings", a.resume, layers_to_string(ck.layers)));
  run.norm = Normalizer::fit(run.plan.norm, run.data.split.train);
  run.net = std::make_unique<Network<float>>(run.plan.arch);
  build_network(run.plan, *run.net);
  for (std::size_t l = 0; l < ck.params.size(); ++l) {
    run.net->layers[l].Wt = ck.params[l].Wt;
    run.net->layers[l].b = ck.params[l].b;
  }
  run.trainer = std::make_unique<Trainer>(*run.net, run.norm, run.plan.opt);
  try {
    run.trainer->restore(ck.state, run.data.split.train.size());
  } catch (const Error& e) {
    throw Error(fmt::format("{}: {}", a.resume, e.what()));
  }
  run.description = r;
  run.description["settings"] = settings_json(s);
  run.description["processes"] = dist::World::get().size();
  if (run.save.empty()) run.save = text("save");
  run.resumed_from = a.resume;
}

// The model file: the weights, and in its config how it was trained and what it scored.
void save_trained(const std::string& path, const Run& run, const std::string& preset,
                  const std::vector<EpochReport>& reports, double test_acc) {
  const TrainSettings& s = run.plan.s;
  const Dataset& train = run.data.split.train;
  nlohmann::json history = nlohmann::json::array();
  for (const auto& r : reports) history.push_back(report_json(r, s.val > 0));
  const nlohmann::json extra = {{"dataset", train.name},
                                {"preset", preset.empty() ? nlohmann::json() : nlohmann::json(preset)},
                                {"training",
                                 {{"init", s.init},
                                  {"batch", s.batch == 0 ? nlohmann::json("full") : nlohmann::json(s.batch)},
                                  {"epochs", s.epochs},
                                  {"lr", s.lr},
                                  {"seed", s.seed},
                                  {"split", run.data.split.split},
                                  {"optimizer", s.optimizer},
                                  {"weight_decay", s.weight_decay},
                                  {"schedule", to_string(run.plan.opt.schedule)},
                                  {"warmup", s.warmup},
                                  {"dropout", s.dropout},
                                  {"label_smoothing", s.label_smoothing},
                                  {"l2", s.l2},
                                  {"clip_norm", s.clip_norm},
                                  {"augment", to_string(run.plan.opt.augment)},
                                  {"val", s.val},
                                  {"early_stop", s.early_stop},
                                  {"train_examples", train.size()},
                                  {"test_examples", run.data.split.test.size()}}},
                                {"history", history},
                                {"test_accuracy", test_acc}};
  save_model(path, *run.net, run.norm, train.height, train.width, extra);
}

// SIGINT and SIGTERM ask the run to stop after its current step; a second one ends it at once.
std::atomic<int> stop_signal{0};
extern "C" void on_stop_signal(int sig) {
  stop_signal.store(sig);
  std::signal(sig, SIG_DFL);
}

// Checkpoints: every `every` epochs, and every `seconds` seconds mid-epoch; and when asked
// to stop. Writing one makes the run's description complete (its data digest) if it is not.
class Checkpointer {
 public:
  Checkpointer(const TrainArgs& a, Run& run) : a_(a), run_(run), every_(a.checkpoint_every) {
    seconds_ = a.checkpoint_seconds;
    last_ = std::chrono::steady_clock::now();
  }

  // Trainer::Pause: true to stop the run (when processes share it: when they agree to).
  bool operator()(bool epoch_end) {
    const int sig = run_.shared ? (run_.trainer->stop_agreed() ? 1 : 0) : stop_signal.load();
    const auto now = std::chrono::steady_clock::now();
    const bool due =
        !run_.checkpoint.empty() && ((epoch_end && run_.trainer->epoch() % every_ == 0) ||
                                     (seconds_ > 0 && std::chrono::duration<double>(now - last_).count() >= seconds_));
    if (due || sig != 0) write(sig != 0);
    return sig != 0;
  }

 private:
  void write(bool stopping) {
    if (!dist::World::get().leader()) return;  // rank 0 writes
    if (run_.checkpoint.empty() && stopping) {
      // Not asked for, but a stopped run should not be lost: next to the model, or here.
      run_.checkpoint = run_.save.empty() ? "digitnet-train.ckpt" : run_.save + ".ckpt";
    }
    if (run_.description.is_null()) run_.description = describe(a_, run_.plan, run_.data);
    save_checkpoint(run_.checkpoint, run_.description, *run_.net, run_.trainer->state());
    last_ = std::chrono::steady_clock::now();
  }

  const TrainArgs& a_;
  Run& run_;
  int every_;
  double seconds_;
  std::chrono::steady_clock::time_point last_;
};

void run_train(const TrainArgs& a) {
  if ((a.given("--checkpoint-every") || a.given("--checkpoint-seconds")) && a.checkpoint.empty() && a.resume.empty())
    throw Error("--checkpoint-every and --checkpoint-seconds need --checkpoint FILE");
  dist::World& world = dist::World::get();
  Run run;
  run.save = a.save;
  run.checkpoint = !a.checkpoint.empty() ? a.checkpoint : a.resume;  // a resumed run goes on checkpointing there
  // Where results go is checked first: a run should not fail at its end for want of a directory.
  // Under mpirun, rank 0 writes and reads the checkpoint; every process loads the data, and an
  // error on any is reported by its name (World::agree).
  Bytes checkpoint;
  world.agree([&] {
    if (!world.leader()) return;
    if (!run.save.empty()) check_writable(run.save, "--save");
    if (!a.checkpoint.empty()) check_writable(a.checkpoint, "--checkpoint");
    if (!a.resume.empty()) checkpoint = read_file(a.resume);
  });
  if (!a.resume.empty()) world.broadcast(checkpoint);
  world.agree([&] {
    if (a.resume.empty()) new_run(a, run);
    else resumed_run(a, run, checkpoint);
    if (!run.save.empty() && world.leader()) check_writable(run.save, "--save");
  });
  checkpoint = {};
  if (world.size() > 1 && a.resume.empty()) same_data_everywhere(world, run.data);
  Trainer& trainer = *run.trainer;
  if (world.size() > 1 || run.plan.reduce == Reduction::exact) {
    trainer.share({.comm = &world, .reduction = run.plan.reduce, .micro_batch = run.plan.micro_batch, .stop = [] {
                     return stop_signal.load() != 0;
                   }});
    run.shared = true;
  }
  const Plan& plan = run.plan;
  const TrainerState start = trainer.state();

  // From here on SIGINT and SIGTERM stop the run after its current step (a second one ends it at
  // once); before, while data loads or downloads, they end it at once, with nothing to keep.
  stop_signal.store(0);
  std::signal(SIGINT, on_stop_signal);
  std::signal(SIGTERM, on_stop_signal);
  TrainOutput out(a.json, plan.s.val > 0, start.epoch + (start.batch == 0 ? 1 : 0));
  out.header(plan, run.data);
  if (!run.resumed_from.empty() && !a.json)
    fmt::print("  resumed from {}: {} epochs done{}\n", run.resumed_from, start.epoch - (start.batch > 0 ? 1 : 0),
               start.batch > 0 ? fmt::format(", and {} batches of epoch {}", start.batch, start.epoch) : "");
  Checkpointer checkpointer(a, run);
  const auto reports = trainer.fit(
      run.data.split.train, &run.data.split.test, [&](const EpochReport& r) { out.report(r); },
      [&](std::size_t done, std::size_t total) { out.progress(done, total); }, plan.s.val > 0 ? &run.data.val : nullptr,
      std::ref(checkpointer));
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGTERM, SIG_DFL);
  // Shared: every process stops where they agreed to, the one a signal reached or not.
  if (const int sig = stop_signal.load(); sig != 0 || (run.shared && trainer.stop_agreed())) {
    std::fflush(stdout);
    const TrainerState at = trainer.state();
    if (world.leader())
      fmt::print(stderr,
                 "digitnet: stopped by {} in epoch {}; checkpoint written to {}; resume with: {}digitnet train "
                 "--resume {}\n",
                 sig == SIGINT ? "SIGINT" : "SIGTERM", at.epoch, run.checkpoint,
                 world.size() > 1 ? fmt::format("mpirun -np {} ", world.size()) : "", run.checkpoint);
    throw ExitStatus{128 + (sig != 0 ? sig : SIGTERM)};
  }
  // A killed run may have left a half-written checkpoint behind that no later write replaced.
  // Rank 0 alone: the others may get here while it still writes the last checkpoint.
  if (!run.checkpoint.empty() && world.leader()) remove_stale_temp_files(run.checkpoint);
  const double test_acc = reports.empty() ? 0.0 : reports.back().test_accuracy.value_or(0.0);
  if (!a.json && plan.s.early_stop > 0)
    fmt::print("kept the weights of epoch {}, the best on the validation set\n", trainer.best_epoch());
  const std::string preset = run.description.is_object() ? run.description.value("preset", a.preset) : a.preset;
  if (!run.save.empty() && world.leader()) save_trained(run.save, run, preset, reports, test_acc);
  out.result(test_acc, run.data.split.test.size(), run.save);
}

}  // namespace

void check_train_settings(const TrainSettings& s, bool layers_given) { plan_from(s, layers_given); }

QuietRun train_quietly(const std::string& data, const TrainSettings& s, bool layers_given,
                       const std::function<void()>& tick) {
  Plan p = plan_from(s, layers_given);
  const TrainData d = load_train_data(data, p);
  const Normalizer norm = Normalizer::fit(p.norm, d.split.train);
  Network<float> net(p.arch);
  build_network(p, net);
  Trainer trainer(net, norm, p.opt);
  const auto reports = trainer.fit(d.split.train, &d.split.test, {}, {}, p.s.val > 0 ? &d.val : nullptr, [&](bool) {
    if (tick) tick();
    return false;
  });
  QuietRun r;
  for (const EpochReport& e : reports) r.seconds += e.seconds;
  if (!reports.empty()) {
    r.test_accuracy = reports.back().test_accuracy.value_or(0.0);
    r.val_accuracy = reports.back().val_accuracy;
    r.loss = reports.back().loss;
    r.epochs = reports.back().epoch;
  }
  return r;
}

void add_train_command(CLI::App& app) {
  auto a = std::make_shared<TrainArgs>();
  CLI::App* cmd = app.add_subcommand("train", "Train a network and report test accuracy");
  a->cmd = cmd;
  TrainSettings& s = a->s;
  cmd->add_option("--data", a->data,
                  "Dataset name (mnist, fashion-mnist, digits, mnist-10k) or path: IDX directory, CSV, image folders");
  cmd->add_option("--preset", a->preset, "Settings of a seed write-up or a best-* network (see 'digitnet presets')");
  cmd->add_option_function<std::string>(
      "--layers", [a](const std::string& v) { a->s.layers = parse_layers(v); }, "Layer sizes, e.g. 784,128,64,10");
  cmd->add_option("--activation", s.activation, "Hidden activation: relu|sigmoid|tanh");
  cmd->add_option("--loss", s.loss, "ce (softmax + cross-entropy) | mse (sigmoid + squared error)");
  cmd->add_option("--init", s.init, "he|xavier|lecun|normal:SIGMA|uniform:A");
  cmd->add_option("--batch", a->batch, "Batch size N, or 'full'");
  cmd->add_option("--epochs", s.epochs, "Passes over the training set");
  cmd->add_option("--lr", s.lr, "Learning rate for the batch-mean gradient (the schedule's peak)");
  cmd->add_option_function<std::string>(
      "--seed", [a](const std::string& v) { a->s.seed = parse_seed("--seed", v); },
      "Seed for init, shuffling, splits, dropout and augmentation (0 to 2^64-1)");
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
  cmd->add_option("--checkpoint", a->checkpoint, "Write a checkpoint to this file (every epoch by default)");
  cmd->add_option("--checkpoint-every", a->checkpoint_every, "Epochs between checkpoints (default 1)")
      ->check(CLI::Range(1, 1'000'000));
  cmd->add_option("--checkpoint-seconds", a->checkpoint_seconds, "Also write one every S seconds, mid-epoch")
      ->check(CLI::Range(1e-3, 1e9));
  cmd->add_option("--resume", a->resume, "Go on with the run a checkpoint stopped (same settings; --epochs may grow)");
  cmd->add_flag("--json", a->json, "JSON lines on stdout instead of text");
  cmd->add_option("--reduce", a->reduce,
                  "Under mpirun: ordered (the same bits for the same number of processes) | exact (for any number)");
  cmd->add_option("--micro-batch", a->micro_batch, "--reduce exact: rows per micro-batch (1 to 256; default 32)");
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
