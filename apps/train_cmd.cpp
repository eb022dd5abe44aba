// digitnet train [--preset NAME] [settings] [--save model.npz] [--checkpoint F] [--json]
// digitnet train --resume F [--epochs N] [--save model.npz]
// The flags are the recipe's settings (train/recipe.hpp); this file turns them into a recipe,
// finds its data and runs it, with checkpoints, signals and processes around the library's
// Trainer.
#include <atomic>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <memory>
#include <optional>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "commands.hpp"
#include "digitnet/core/json.hpp"
#include "digitnet/data/checkpoint.hpp"
#include "digitnet/data/file.hpp"
#include "digitnet/data/load.hpp"
#include "digitnet/data/model.hpp"
#include "digitnet/fetch/catalog.hpp"
#include "digitnet/fetch/download.hpp"
#include "digitnet/train/memory.hpp"
#include "digitnet/train/presets.hpp"
#include "dist/world.hpp"
#include "recipe_flags.hpp"
#include "terminal.hpp"
#include "train_output.hpp"

namespace digitnet::cli {
namespace {

struct TrainArgs {
  std::string preset, save, checkpoint, resume;
  bool json = false;
  int checkpoint_every = 1;
  double checkpoint_seconds = 0;
  CLI::App* cmd = nullptr;
  std::unique_ptr<RecipeFlags> flags;
  bool given(const std::string& flag) const { return cmd->count(flag) > 0; }
};

// A run: its recipe, data, network and trainer; new, or from a checkpoint. (The trainer holds
// references to the network and normaliser, so a Run stays where it is made.)
struct Run {
  Recipe recipe;
  RunData data;
  Normalizer norm;
  std::unique_ptr<Network<float>> net;
  std::unique_ptr<Trainer> trainer;
  nlohmann::json description;  // what a checkpoint keeps of the run
  std::string preset, save, checkpoint, resumed_from;
  bool layers_given = false;  // else the recipe's input size follows the data
  bool shared = false;        // with other processes (train/distributed.hpp)
};

// Output files must not be each other, or the input: the model would overwrite the checkpoint.
void refuse_colliding_paths(const TrainArgs& a) {
  const std::vector<std::pair<std::string, std::string>> paths = {
      {"--save", a.save}, {"--checkpoint", a.checkpoint}, {"--resume", a.resume}};
  const auto same = [](const std::string& x, const std::string& y) {
    std::error_code ec;
    return std::filesystem::weakly_canonical(x, ec) == std::filesystem::weakly_canonical(y, ec);
  };
  for (std::size_t i = 0; i < paths.size(); ++i)
    for (std::size_t j = i + 1; j < paths.size(); ++j) {
      const auto& [f1, p1] = paths[i];
      const auto& [f2, p2] = paths[j];
      if (p1.empty() || p2.empty() || (f1 == "--checkpoint" && f2 == "--resume")) continue;  // resume goes on there
      if (same(p1, p2)) throw Error(fmt::format("{} and {} are the same file ({}): give each its own", f1, f2, p1));
    }
}

// Processes that share a run must run the same recipe on the same data: rank 0's reaches
// every rank, and any difference ends every one with a line naming the setting.
void same_recipe_everywhere(dist::World& world, const Recipe& mine) {
  const std::string text = recipe_json(mine).dump();
  dist::Bytes leader(text.begin(), text.end());
  world.broadcast(leader);
  world.agree([&] {
    const Recipe theirs =
        recipe_from_json(parse_json({reinterpret_cast<const char*>(leader.data()), leader.size()}, "rank 0's recipe"));
    const auto differ = recipe_differences(mine, theirs, /*shared_only=*/true);
    if (differ.empty()) return;
    const Setting& s = find_setting(differ.front());
    throw SettingError(differ.front(),
                       fmt::format("{} has {} but {} has {}; every process must run the same recipe", world.name(),
                                   setting_text(mine, s), world.name(0), setting_text(theirs, s)));
  });
}

const std::string& data_digest(Run& run);

void same_data_everywhere(dist::World& world, Run& run) {
  const std::string& mine = data_digest(run);
  const std::vector<dist::Bytes> all = world.gather({reinterpret_cast<const std::uint8_t*>(mine.data()), mine.size()});
  for (int r = 1; r < world.size(); ++r)
    if (all[r] != all[0])
      throw SettingError("data", fmt::format("{} has other data than {} (their SHA-256 differ): every process must "
                                             "read the same files",
                                             world.name(r), world.name(0)));
}

// The data of a recipe, and its network fitted to it; the run's memory checked first.
void load_run(Run& run, bool layers_given) {
  const int cores = threads();
  check_memory(run.recipe, 0, run.recipe.layers.front(), cores, available_memory());  // the network alone
  run.data = load_run_data(run.recipe, resolve_data(run.recipe.data, cli_fetch_options()), layers_given);
  const Dataset& train = run.data.split.train;
  if (dist::World::get().leader()) print_warnings(train);
  check_memory(run.recipe, train.size() + run.data.split.test.size(), train.features(), cores, available_memory());
  run.norm = Normalizer::fit(normalization(run.recipe), train);
}

// SHA-256 of every example of every part, worked out when first asked for (a checkpoint, a
// resumed run, other processes): a resumed run, and every process, must have the very same.
const std::string& data_digest(Run& run) {
  if (!run.data.digest.empty()) return run.data.digest;
  std::string digests;
  for (const Dataset* part :
       std::initializer_list<const Dataset*>{&run.data.split.train, &run.data.split.test, &run.data.val})
    for (const auto& bytes : {std::span<const std::uint8_t>(part->pixels), std::span<const std::uint8_t>(part->labels)})
      digests += digest(bytes, "sha256");
  run.data.digest = digest({reinterpret_cast<const std::uint8_t*>(digests.data()), digests.size()}, "sha256");
  return run.data.digest;
}

nlohmann::json describe(Run& run) {
  std::error_code ec;
  const bool path = std::filesystem::exists(run.recipe.data, ec);  // else a dataset's name
  return {{"recipe", recipe_json(run.recipe)},
          {"data_path", path ? std::filesystem::absolute(run.recipe.data, ec).string() : run.recipe.data},
          {"data_sha256", data_digest(run)},
          {"layers_given", run.layers_given},
          {"preset", run.preset},
          {"save", run.save},
          {"processes", dist::World::get().size()}};
}

// A new run's recipe: the preset's (or the defaults), then every flag given.
void new_recipe(const TrainArgs& a, Run& run) {
  run.recipe = a.flags->apply(a.preset.empty() ? Recipe{} : find_preset(a.preset).recipe);
  run.preset = a.preset.empty() ? "" : find_preset(a.preset).name;
  run.layers_given = a.flags->given("layers");
  if (run.recipe.data.empty())
    throw SettingError("data", "required: a dataset's name or a path (or a preset that names one)");
  validate(run.recipe);
}

// A resumed run's recipe: the checkpoint's. Only the epochs may grow, and the threads change
// (they change no result).
void resumed_recipe(const TrainArgs& a, Run& run, const Checkpoint& ck) {
  const nlohmann::json& d = ck.run;
  if (!d.contains("recipe") || !d.contains("data_path") || !d["data_path"].is_string() || !d.contains("data_sha256") ||
      !d["data_sha256"].is_string())
    throw Error(fmt::format("{}: the run's recipe or data is missing", a.resume));
  const Recipe stored = recipe_from_json(d["recipe"]);
  Recipe asked = a.flags->apply(stored);
  if (asked.epochs < stored.epochs)
    throw SettingError("epochs", fmt::format("{} is fewer than the resumed run's {}", asked.epochs, stored.epochs));
  Recipe same = asked;
  same.epochs = stored.epochs;
  same.threads = stored.threads;
  std::vector<std::string> changed;
  for (const std::string& name : recipe_differences(same, stored)) changed.push_back(flag_of(name));
  if (a.given("--preset") && a.preset != d.value("preset", "")) changed.push_back("--preset");
  if (!changed.empty())
    throw Error(
        fmt::format("--resume: {} would change the run {} was made by; a resumed run keeps its recipe (only "
                    "--epochs may grow)",
                    fmt::join(changed, ", "), a.resume));
  // An ordered run's bits depend on the number of processes, an exact one's do not.
  const int had = d.value("processes", 1), now = dist::World::get().size();
  if (stored.reduce == "ordered" && had != now)
    throw Error(
        fmt::format("--resume: {} was trained by {} process{} with --reduce ordered, whose bits depend on that "
                    "number: resume it with mpirun -np {} (a run with --reduce exact resumes on any number)",
                    a.resume, had, had == 1 ? "" : "es", had));
  run.recipe = asked;
  run.recipe.data = d["data_path"].get<std::string>();
  run.preset = d.value("preset", "");
  run.layers_given = d.value("layers_given", true);
  if (run.save.empty()) run.save = d.value("save", "");
}

void new_run(Run& run) {
  load_run(run, run.layers_given);
  run.net = std::make_unique<Network<float>>(new_network(run.recipe));
  run.trainer = std::make_unique<Trainer>(*run.net, run.norm, run.recipe);
}

void resumed_run(const TrainArgs& a, Run& run, const Checkpoint& ck) {
  load_run(run, run.layers_given);
  if (data_digest(run) != ck.run["data_sha256"].get<std::string>())
    throw Error(fmt::format("--resume: the data at {} is not the data {} was trained on (its SHA-256 differs)",
                            run.recipe.data, a.resume));
  if (run.recipe.layers != ck.layers)
    throw Error(fmt::format("{}: its network {} does not match its recipe", a.resume, layers_to_string(ck.layers)));
  run.net = std::make_unique<Network<float>>(new_network(run.recipe));
  run.net->layers = ck.params;
  run.net->weights_changed();
  run.trainer = std::make_unique<Trainer>(*run.net, run.norm, run.recipe);
  try {
    run.trainer->restore(ck.state, run.data.split.train.size());
  } catch (const Error& e) {
    throw Error(fmt::format("{}: {}", a.resume, e.what()));
  }
  run.resumed_from = a.resume;
}

void save_trained(const Run& run, const std::vector<EpochReport>& reports) {
  const DataSplit& split = run.data.split;
  const Dataset& train = split.train;
  TrainingRecord record{
      run.recipe,   train.name,        split.split, run.preset, centring_of(train.name, train.height, train.width),
      train.size(), split.test.size(), reports};
  if (!reports.empty()) record.test_accuracy = reports.back().test_accuracy;
  save_model(run.save, *run.net, run.norm, split.train.height, split.train.width, record_json(record));
}

// SIGINT and SIGTERM ask the run to stop after its current step; a second one ends it at once.
std::atomic<int> stop_signal{0};
extern "C" void on_stop_signal(int sig) {
  stop_signal.store(sig);
  std::signal(sig, SIG_DFL);
}

// Checkpoints: every `every` epochs, and every `seconds` seconds mid-epoch; and when asked
// to stop (Trainer::Pause: true stops the run; shared: when the processes agree to).
class Checkpointer {
 public:
  Checkpointer(const TrainArgs& a, Run& run)
      : run_(run), every_(a.checkpoint_every), seconds_(a.checkpoint_seconds), last_(Clock::now()) {}

  bool operator()(bool epoch_end) {
    const int sig = run_.shared ? (run_.trainer->stop_agreed() ? 1 : 0) : stop_signal.load();
    const bool due = !run_.checkpoint.empty() &&
                     ((epoch_end && run_.trainer->epoch() % every_ == 0) ||
                      (seconds_ > 0 && std::chrono::duration<double>(Clock::now() - last_).count() >= seconds_));
    if ((due || sig != 0) && dist::World::get().leader()) {  // rank 0 writes
      // Not asked for, but a stopped run should not be lost: next to the model, or here.
      if (run_.checkpoint.empty()) run_.checkpoint = run_.save.empty() ? "digitnet-train.ckpt" : run_.save + ".ckpt";
      if (run_.description.is_null()) run_.description = describe(run_);
      save_checkpoint(run_.checkpoint, run_.description, *run_.net, run_.trainer->position(),
                      run_.trainer->optimizer_state());
      last_ = Clock::now();
    }
    return sig != 0;
  }

 private:
  using Clock = std::chrono::steady_clock;
  Run& run_;
  int every_;
  double seconds_;
  Clock::time_point last_;
};

void run_train(const TrainArgs& a) {
  if (a.checkpoint_every < 1 || a.checkpoint_every > 1'000'000)
    throw Error(fmt::format("--checkpoint-every: {} is not a whole number from 1 to 1000000", a.checkpoint_every));
  if (!(a.checkpoint_seconds == 0 || (a.checkpoint_seconds >= 1e-3 && a.checkpoint_seconds <= 1e9)))
    throw Error(fmt::format("--checkpoint-seconds: {} is not in [0.001, 1e9]", a.checkpoint_seconds));
  if ((a.given("--checkpoint-every") || a.given("--checkpoint-seconds")) && a.checkpoint.empty() && a.resume.empty())
    throw Error("--checkpoint-every and --checkpoint-seconds need --checkpoint FILE");
  refuse_colliding_paths(a);
  dist::World& world = dist::World::get();
  Run run;
  run.save = a.save;
  run.checkpoint = !a.checkpoint.empty() ? a.checkpoint : a.resume;  // a resumed run goes on checkpointing there
  // Where results go is checked first: a run should not fail at its end for want of a directory.
  // Under mpirun, rank 0 writes and reads the checkpoint; every process loads the data, and an
  // error on any is reported by its name (World::agree).
  Bytes bytes;
  world.agree([&] {
    if (!world.leader()) return;
    if (!run.save.empty()) check_writable(run.save, "--save");
    if (!a.checkpoint.empty()) check_writable(a.checkpoint, "--checkpoint");
    if (!a.resume.empty()) bytes = read_file(a.resume);
  });
  if (!a.resume.empty()) world.broadcast(bytes);
  // The recipe first, and every process's the same, before anything is sized by it.
  std::optional<Checkpoint> ck;
  world.agree([&] {
    if (!a.resume.empty()) ck.emplace(parse_checkpoint(bytes, a.resume));
    if (ck) resumed_recipe(a, run, *ck);
    else new_recipe(a, run);
    set_threads(threads_to_use(run.recipe.threads));
  });
  bytes = {};
  if (world.size() > 1) same_recipe_everywhere(world, run.recipe);
  world.agree([&] {
    if (ck) resumed_run(a, run, *ck);
    else new_run(run);
    if (!run.save.empty() && world.leader()) check_writable(run.save, "--save");
  });
  ck.reset();
  if (world.size() > 1) same_data_everywhere(world, run);
  Trainer& trainer = *run.trainer;
  if (world.size() > 1 || reduction(run.recipe) == Reduction::exact) {
    trainer.share({.comm = &world, .stop = [] { return stop_signal.load() != 0; }});
    run.shared = true;
  }
  const TrainerState& start = trainer.position();
  // From here on SIGINT and SIGTERM stop the run after its current step (a second one ends it at
  // once); before, while data loads or downloads, they end it at once, with nothing to keep.
  stop_signal.store(0);
  std::signal(SIGINT, on_stop_signal);
  std::signal(SIGTERM, on_stop_signal);
  TrainOutput out(a.json, run.recipe.val > 0, start.epoch + (start.batch == 0 ? 1 : 0));
  out.header(run.recipe, run.data.split, run.data.val.size());
  if (!run.resumed_from.empty() && !a.json)
    fmt::print("  resumed from {}: {} epochs done{}\n", run.resumed_from, start.epoch - (start.batch > 0 ? 1 : 0),
               start.batch > 0 ? fmt::format(", and {} batches of epoch {}", start.batch, start.epoch) : "");
  Checkpointer checkpointer(a, run);
  const auto reports = trainer.fit(
      run.data.split.train, &run.data.split.test, [&](const EpochReport& r) { out.report(r); },
      [&](std::size_t done, std::size_t total) { out.progress(done, total); },
      run.recipe.val > 0 ? &run.data.val : nullptr, std::ref(checkpointer));
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGTERM, SIG_DFL);
  // Shared: every process stops where they agreed to, the one a signal reached or not.
  if (const int sig = stop_signal.load(); sig != 0 || (run.shared && trainer.stop_agreed())) {
    std::fflush(stdout);
    if (world.leader())
      fmt::print(stderr,
                 "digitnet: stopped by {} in epoch {}; checkpoint written to {}; resume with: {}digitnet train "
                 "--resume {}\n",
                 sig == SIGINT ? "SIGINT" : "SIGTERM", trainer.epoch(), run.checkpoint,
                 world.size() > 1 ? fmt::format("mpirun -np {} ", world.size()) : "", run.checkpoint);
    throw ExitStatus{128 + (sig != 0 ? sig : SIGTERM)};
  }
  // A killed run may have left a half-written checkpoint behind that no later write replaced.
  // Rank 0 alone: the others may get here while it still writes the last checkpoint.
  if (!run.checkpoint.empty() && world.leader()) remove_stale_temp_files(run.checkpoint);
  if (!a.json && run.recipe.early_stop > 0)
    fmt::print("kept the weights of epoch {}, the best on the validation set\n", trainer.best_epoch());
  if (!run.save.empty() && world.leader()) save_trained(run, reports);
  out.result(reports.empty() ? 0.0 : reports.back().test_accuracy.value_or(0.0), run.data.split.test.size(), run.save);
}

}  // namespace

void add_train_command(CLI::App& app) {
  auto a = std::make_shared<TrainArgs>();
  CLI::App* cmd = app.add_subcommand("train", "Train a network and report test accuracy");
  a->cmd = cmd;
  cmd->add_option("--preset", a->preset, "Start from a preset's recipe (see 'digitnet presets'); flags override it")
      ->type_name("NAME")
      ->group("Recipe");
  a->flags = std::make_unique<RecipeFlags>(*cmd);
  const std::string output = "Output";
  cmd->add_option("--save", a->save, "Write the trained model to this .npz file")->type_name("FILE")->group(output);
  cmd->add_option("--checkpoint", a->checkpoint, "Write a checkpoint to this file (every epoch by default)")
      ->type_name("FILE")
      ->group(output);
  cmd->add_option("--checkpoint-every", a->checkpoint_every, "Epochs between checkpoints, 1 to 1000000 (default: 1)")
      ->type_name("N")
      ->group(output);
  cmd->add_option("--checkpoint-seconds", a->checkpoint_seconds,
                  "Also write one every S seconds mid-epoch, 0.001 to 1e9 (default: only at epochs' ends)")
      ->type_name("S")
      ->group(output);
  cmd->add_option("--resume", a->resume, "Go on with the run a checkpoint stopped (only --epochs may grow)")
      ->type_name("FILE")
      ->group(output);
  cmd->add_flag("--json", a->json, "JSON lines on stdout instead of text")->group(output);
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
