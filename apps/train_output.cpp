#include "train_output.hpp"

#include <cstdio>

#include <fmt/format.h>

#include "digitnet/core/parallel.hpp"
#include "dist/world.hpp"
#include "terminal.hpp"

namespace digitnet::cli {
namespace {

std::string percent(double a) { return fmt::format("{:.2f}%", 100.0 * a); }

// Under mpirun: " x 2 processes (--reduce ordered)".
std::string processes_text(const Recipe& r) {
  const int n = dist::World::get().size();
  if (n == 1 && r.reduce == "ordered") return "";
  return fmt::format(" x {} process{} (--reduce {}{})", n, n == 1 ? "" : "es", r.reduce,
                     r.reduce == "exact" ? fmt::format(", micro-batches of {}", r.micro_batch) : "");
}

}  // namespace

TrainOutput::TrainOutput(bool json, bool validating, int next_epoch)
    : json_(json),
      validating_(validating),
      // under mpirun, rank 0's stdout is a pseudo-terminal whatever mpirun's own is
      live_(!json && stdout_is_terminal() && dist::World::get().size() == 1),
      epoch_(next_epoch) {}

void TrainOutput::header(const Recipe& r, const DataSplit& d, std::size_t validation) const {
  if (json_) return;
  fmt::print(
      "training {} {}/{} on {} ({} train, {}{} test, split {})\n  batch {}, {} lr {}, {} epochs, seed {}, {} "
      "threads{}\n",
      layers_to_string(r.layers), r.activation, r.loss, d.train.name, d.train.size(),
      validation > 0 ? fmt::format("{} validation, ", validation) : "", d.test.size(), d.split,
      r.batch == 0 ? std::string("full") : std::to_string(r.batch), r.optimizer, r.lr, r.epochs, r.seed, threads(),
      processes_text(r));
  std::fflush(stdout);
}

void TrainOutput::report(const EpochReport& r) {
  epoch_ = r.epoch + 1;
  if (json_) {
    nlohmann::json j = report_json(r);
    if (!validating_) j.erase("val_accuracy");
    fmt::print("{}\n", j.dump());
  } else {
    if (live_) clear_line();
    fmt::print("epoch {:>4}  loss {:.4f}  train {:>7}{}  test {:>7}  {:.2f}s\n", r.epoch, r.loss,
               percent(r.train_accuracy), r.val_accuracy ? "  val " + percent(*r.val_accuracy) : "",
               r.test_accuracy ? percent(*r.test_accuracy) : "-", r.seconds);
  }
  std::fflush(stdout);
}

void TrainOutput::progress(std::size_t done, std::size_t total) const {
  if (live_ && total > 1) show_progress(epoch_, done, total);
}

void TrainOutput::result(double test_acc, std::size_t examples, const std::string& saved) const {
  if (json_) {
    fmt::print("{}\n", nlohmann::json{{"test_accuracy", test_acc},
                                      {"model", saved.empty() ? nlohmann::json() : nlohmann::json(saved)}}
                           .dump());
    return;
  }
  fmt::print("test accuracy {} on {} examples\n", percent(test_acc), examples);
  if (!saved.empty()) fmt::print("model saved to {}\n", saved);
}

}  // namespace digitnet::cli
