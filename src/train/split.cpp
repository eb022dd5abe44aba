#include "digitnet/train/split.hpp"

#include <charconv>
#include <cmath>
#include <numeric>
#include <vector>

#include <fmt/format.h>

#include "digitnet/core/error.hpp"
#include "digitnet/core/rng.hpp"

namespace digitnet {

SplitSpec parse_split(std::string_view text) {
  const auto bad = [&] {
    return SettingError(
        "split", fmt::format("'{}' is not one of auto, official, random:FRACTION (0 < F < 1), dev:COUNT or all", text));
  };
  if (text == "official") return {SplitSpec::official};
  if (text == "auto") return {SplitSpec::automatic};
  if (text == "all") return {SplitSpec::all};
  const auto colon = text.find(':');
  if (colon == std::string_view::npos) throw bad();
  const std::string_view kind = text.substr(0, colon), arg = text.substr(colon + 1);
  const char* end = arg.data() + arg.size();
  if (kind == "random") {
    double f = 0;
    const auto r = std::from_chars(arg.data(), end, f);
    if (r.ec != std::errc() || r.ptr != end || !(f > 0 && f < 1)) throw bad();
    return {SplitSpec::random, f, 0};
  }
  if (kind == "dev") {
    std::size_t n = 0;
    const auto r = std::from_chars(arg.data(), end, n);
    if (r.ec != std::errc() || r.ptr != end || n == 0) throw bad();
    return {SplitSpec::dev, 0, n};
  }
  throw bad();
}

std::string to_string(const SplitSpec& s) {
  switch (s.kind) {
    case SplitSpec::automatic: return "auto";
    case SplitSpec::official: return "official";
    case SplitSpec::random: return fmt::format("random:{}", s.fraction);
    case SplitSpec::dev: return fmt::format("dev:{}", s.count);
    case SplitSpec::all: return "all";
  }
  return "?";
}

namespace {

// 0 .. n-1 in a seeded random order.
std::vector<std::size_t> shuffled(std::size_t n, std::uint64_t seed, std::uint64_t stream) {
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  Rng rng(seed, stream);
  rng.shuffle(std::span<std::size_t>(order));
  return order;
}

}  // namespace

DataSplit split_dataset(const Dataset& all, const SplitSpec& s, std::uint64_t seed) {
  const std::size_t n = all.size();
  if (s.kind == SplitSpec::all) {  // nothing to train on: the whole set is the test part
    DataSplit out;
    out.test = all;
    out.train = all.subset({});
    out.split = "all";
    return out;
  }
  const std::size_t held =
      s.kind == SplitSpec::random ? static_cast<std::size_t>(std::llround(s.fraction * n)) : s.count;
  if (held == 0 || held >= n)
    throw SettingError(
        "split", fmt::format("{} holds out {} of {} examples; both parts must be non-empty", to_string(s), held, n));
  const std::vector<std::size_t> order = shuffled(n, seed, kSplitStream);
  // The first `held` shuffled examples are the test (dev) set, as in seed 003.
  DataSplit out;
  out.test = all.subset(std::span<const std::size_t>(order).first(held));
  out.train = all.subset(std::span<const std::size_t>(order).subspan(held));
  out.split = to_string(s);
  return out;
}

Dataset hold_out(Dataset& train, double fraction, std::uint64_t seed) {
  if (!(fraction > 0 && fraction < 1)) throw SettingError("val", "must be a fraction in (0, 1)");
  // A stream of its own, so holding out a validation share never changes the test split.
  const std::vector<std::size_t> order = shuffled(train.size(), seed, kSplitStream + 1);
  const auto held = static_cast<std::size_t>(std::llround(fraction * double(order.size())));
  if (held == 0 || held >= order.size()) throw SettingError("val", "leaves no training or no validation examples");
  Dataset val = train.subset(std::span<const std::size_t>(order).first(held));
  train = train.subset(std::span<const std::size_t>(order).subspan(held));
  return val;
}

}  // namespace digitnet
