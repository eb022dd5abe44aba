// digitnet data list | fetch NAME | verify [NAME] | info PATH_OR_NAME | export NAME --format F -o DIR
#include <algorithm>
#include <chrono>
#include <cmath>
#include <memory>

#include <fmt/format.h>

#include "commands.hpp"
#include "digitnet/core/error.hpp"
#include "digitnet/data/load.hpp"
#include "digitnet/fetch/catalog.hpp"
#include "digitnet/fetch/export.hpp"
#include "terminal.hpp"

namespace digitnet::cli {
namespace {

struct DataArgs {
  std::string name, format, out, split = "auto", part = "both";
  std::uint64_t seed = 1;
  int samples = 3;
};

void run_list() {
  fmt::print("{:<14} {:<27} {:<6} {:<8} {}\n", "name", "examples", "size", "cached", "source; licence");
  for (const auto& d : known_datasets()) {
    const std::string where = local_path(d.name);
    fmt::print("{:<14} {:<27} {:<6} {:<8} {}; {}\n", d.name, d.examples, d.shape, where.empty() ? "no" : "yes",
               d.source, d.licence);
  }
  fmt::print("\ncache: {} (set DIGITNET_DATA to change it)\n", cache_dir());
}

// Fetches what is missing, and fetches again (or rebuilds) what fails its checksums.
void run_fetch(const DataArgs& a) {
  FetchOptions options = cli_fetch_options();
  options.repair = true;
  const std::string path = fetch_dataset(a.name, options);
  fmt::print("{}: {}\n", a.name, path);
}

// Checks every cached dataset (or the one named) against its recorded checksums.
void run_verify(const DataArgs& a) {
  int failed = 0, checked = 0;
  for (const auto& d : known_datasets()) {
    if (!a.name.empty() && d.name != a.name) continue;
    if (local_path(d.name).empty()) {
      fmt::print("{:<14} not cached\n", d.name);
      continue;
    }
    const auto start = std::chrono::steady_clock::now();
    try {
      const std::size_t bytes = verify_dataset(d.name);
      const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
      fmt::print("{:<14} ok ({:.1f} MB checked in {:.0f} ms)\n", d.name, bytes / 1e6, ms);
      ++checked;
    } catch (const Error& e) {
      fmt::print("{:<14} FAILED: {}\n", d.name, e.what());
      ++failed;
    }
  }
  if (!a.name.empty() && !is_known_dataset(a.name))
    throw Error(fmt::format("data verify: unknown dataset '{}'", a.name));
  if (failed > 0)
    throw Error(fmt::format("data verify: {} of {} cached datasets failed their checksums", failed, failed + checked));
}

void run_info(const DataArgs& a) {
  const std::string path = resolve_data(a.name, cli_fetch_options());
  const DataSplit data = load_data(path, parse_split(a.split), a.seed);
  const Dataset& t = data.train;
  fmt::print("{} ({})\n", a.name, path);
  fmt::print("  {} training + {} test examples (split {}), {}x{} pixels, values 0..{}\n", t.size(), data.test.size(),
             data.split, t.height, t.width, t.pixel_max);
  std::vector<std::size_t> train_count(kClasses), test_count(kClasses);
  for (auto l : t.labels) ++train_count[l];
  for (auto l : data.test.labels) ++test_count[l];
  fmt::print("  class  train   test\n");
  for (int c = 0; c < kClasses; ++c) fmt::print("  {:>5} {:>6} {:>6}\n", c, train_count[c], test_count[c]);
  double sum = 0, sq = 0;
  std::uint8_t lo = 255, hi = 0;
  for (auto p : t.pixels) {
    const double x = p / double(t.pixel_max);
    sum += x;
    sq += x * x;
    lo = std::min(lo, p);
    hi = std::max(hi, p);
  }
  const double n = double(t.pixels.size()), mean = sum / n;
  fmt::print("  pixels (scaled to [0,1]): mean {:.4f}, std {:.4f}, min {:.3f}, max {:.3f}; {:.1f}% are 0\n", mean,
             std::sqrt(std::max(0.0, sq / n - mean * mean)), lo / double(t.pixel_max), hi / double(t.pixel_max),
             100.0 * double(std::count(t.pixels.begin(), t.pixels.end(), 0)) / n);
  std::vector<float> px(t.features());
  for (int s = 0; s < std::min<int>(a.samples, static_cast<int>(t.size())); ++s) {
    const std::size_t i = s * (t.size() / std::max(1, a.samples));
    for (int f = 0; f < t.features(); ++f) px[f] = t.image(i)[f] / t.pixel_max;
    fmt::print("\n{}",
               draw_digit(px, t.height, t.width, {fmt::format("example {}", i), fmt::format("label {}", t.labels[i])}));
  }
}

void run_export(const DataArgs& a) {
  const ExportFormat format = parse_export_format(a.format);
  const ExportPart part = parse_export_part(a.part);
  const DataSplit data = load_data(resolve_data(a.name, cli_fetch_options()), parse_split(a.split), a.seed);
  export_dataset(data, format, a.out, part);
  fmt::print("wrote {} training and {} test examples of {} to {} as {}\n",
             part == ExportPart::test ? 0 : data.train.size(), part == ExportPart::train ? 0 : data.test.size(), a.name,
             a.out, a.format);
}

}  // namespace

void add_data_command(CLI::App& app) {
  auto a = std::make_shared<DataArgs>();
  CLI::App* cmd = app.add_subcommand("data", "Datasets by name: list, fetch, verify, info, export");
  cmd->require_subcommand(1);
  cmd->add_subcommand("list", "Known datasets, their size, source, licence, and whether they are cached")
      ->callback(run_list);
  CLI::App* fetch = cmd->add_subcommand("fetch", "Download, verify and cache a dataset");
  fetch->add_option("name", a->name, "mnist, fashion-mnist, digits or mnist-10k")->required();
  fetch->callback([a] { run_fetch(*a); });
  CLI::App* verify = cmd->add_subcommand("verify", "Check the cached datasets against their recorded checksums");
  verify->add_option("name", a->name, "One dataset (default: every cached one)");
  verify->callback([a] { run_verify(*a); });
  CLI::App* info = cmd->add_subcommand("info", "Counts, class balance, pixel statistics and samples");
  info->add_option("data", a->name, "A dataset name or path")->required();
  info->add_option("--split", a->split, "official, random:F or dev:N");
  info->add_option("--samples", a->samples, "Examples to draw")->type_name("N")->check(whole_in(0, 1e9));
  info->callback([a] { run_info(*a); });
  CLI::App* exp = cmd->add_subcommand("export", "Write a dataset as CSV, IDX or PNG folders");
  exp->add_option("data", a->name, "A dataset name or path")->required();
  exp->add_option("--format", a->format, "csv, idx or png-folders")->required();
  exp->add_option("--part", a->part, "both (default), train or test");
  exp->add_option("-o,--out", a->out, "Output directory")->required();
  exp->add_option("--split", a->split, "official, random:F or dev:N");
  exp->add_option_function<std::string>(
      "--seed", [a](const std::string& v) { a->seed = parse_seed("--seed", v); }, "Seed of a random split");
  exp->callback([a] { run_export(*a); });
}

}  // namespace digitnet::cli
