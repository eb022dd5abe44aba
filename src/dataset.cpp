#include "digitnet/dataset.hpp"

#include <algorithm>
#include <charconv>
#include <cstring>
#include <cmath>
#include <filesystem>
#include <numeric>

#include <fmt/format.h>

#include "digitnet/csv.hpp"
#include "digitnet/error.hpp"
#include "digitnet/idx.hpp"
#include "digitnet/image.hpp"
#include "digitnet/rng.hpp"

namespace digitnet {

Dataset Dataset::subset(std::span<const std::size_t> indices) const {
  Dataset d;
  d.name = name;
  d.height = height;
  d.width = width;
  d.pixel_max = pixel_max;
  d.pixels.reserve(indices.size() * features());
  d.labels.reserve(indices.size());
  for (std::size_t i : indices) {
    d.pixels.insert(d.pixels.end(), image(i), image(i) + features());
    d.labels.push_back(labels[i]);
  }
  return d;
}

SplitSpec parse_split(std::string_view text) {
  const auto bad = [&] {
    return Error(fmt::format("--split: '{}' is not one of official, random:FRACTION (0 < F < 1) or dev:COUNT", text));
  };
  if (text == "official") return {SplitSpec::official};
  if (text == "auto") return {SplitSpec::automatic};
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
  }
  return "?";
}

std::string dataset_name(const std::string& path) {
  auto p = std::filesystem::path(path);
  if (!p.has_filename()) p = p.parent_path();
  std::string name = p.filename().string();
  for (const char* ext : {".gz", ".csv"})
    if (name.size() > std::strlen(ext) && name.ends_with(ext)) name.resize(name.size() - std::strlen(ext));
  return name;
}

namespace {

Dataset load_idx_dir(const std::string& dir, const std::string& prefix) {
  const auto images = find_idx_file(dir, prefix, "images");
  const auto labels = find_idx_file(dir, prefix, "labels");
  if (!images || !labels)
    throw Error(fmt::format("{}: no {}-images-idx3-ubyte and {}-labels-idx1-ubyte (or .idx3-ubyte, .gz) found", dir,
                            prefix, prefix));
  Dataset d = load_idx_pair(*images, *labels);
  d.name = dataset_name(dir);
  return d;
}

}  // namespace

bool is_image_folder_set(const std::string& dir) {
  std::error_code ec;
  int found = 0;
  for (int d = 0; d < kClasses; ++d) found += std::filesystem::is_directory(std::filesystem::path(dir) / std::to_string(d), ec);
  return found >= 2;
}

Dataset load_image_folders(const std::string& dir) {
  Dataset d;
  d.name = dataset_name(dir);
  d.height = d.width = 28;
  d.pixel_max = 255;
  for (int label = 0; label < kClasses; ++label) {
    const auto sub = std::filesystem::path(dir) / std::to_string(label);
    std::error_code ec;
    if (!std::filesystem::is_directory(sub, ec)) continue;
    std::vector<std::string> files;
    for (const auto& e : std::filesystem::directory_iterator(sub, ec))
      if (e.is_regular_file()) files.push_back(e.path().string());
    std::sort(files.begin(), files.end());  // a fixed order, whatever the file system's
    for (const auto& f : files) {
      const std::vector<float> x = preprocess_mnist(load_image(f), f);  // as `predict` sees it
      for (float v : x) d.pixels.push_back(static_cast<std::uint8_t>(std::lround(v * 255.0f)));
      d.labels.push_back(static_cast<std::uint8_t>(label));
    }
  }
  if (d.labels.empty()) throw Error(fmt::format("{}: the folders 0/ to 9/ hold no images", dir));
  return d;
}

Dataset load_any(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec) && !find_idx_file(path, "train", "images") && is_image_folder_set(path))
    return load_image_folders(path);
  if (std::filesystem::is_directory(path, ec)) return load_idx_dir(path, "train");
  if (!std::filesystem::exists(path, ec)) throw Error(fmt::format("--data: '{}' does not exist", path));
  Dataset d = load_csv(path);
  d.name = dataset_name(path);
  return d;
}

DataSplit load_data(const std::string& path, const SplitSpec& split, std::uint64_t seed) {
  std::error_code ec;
  const bool dir = std::filesystem::is_directory(path, ec);
  const bool has_official = dir && find_idx_file(path, "t10k", "images") && find_idx_file(path, "t10k", "labels");
  DataSplit out;
  out.train = load_any(path);
  SplitSpec s = split;
  if (s.kind == SplitSpec::automatic) s = has_official ? SplitSpec{SplitSpec::official} : SplitSpec{SplitSpec::random, 0.2, 0};
  if (s.kind == SplitSpec::official) {
    if (!has_official)
      throw Error(fmt::format("--split official: {} has no t10k-images-idx3-ubyte/t10k-labels-idx1-ubyte test files; "
                              "use --split random:0.2 or dev:N",
                              path));
    out.test = load_idx_dir(path, "t10k");
    if (out.test.height != out.train.height || out.test.width != out.train.width)
      throw Error(fmt::format("{}: test images are {}x{} but training images are {}x{}", path, out.test.height,
                              out.test.width, out.train.height, out.train.width));
    out.split = "official";
    return out;
  }
  const std::size_t n = out.train.size();
  const std::size_t held = s.kind == SplitSpec::random ? static_cast<std::size_t>(std::llround(s.fraction * n)) : s.count;
  if (held == 0 || held >= n)
    throw Error(fmt::format("--split {}: holds out {} of {} examples; both parts must be non-empty", to_string(s), held, n));
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  Rng rng(seed, kSplitStream);
  rng.shuffle(std::span<std::size_t>(order));
  // The first `held` shuffled examples are the test (dev) set, as in seed 003.
  out.test = out.train.subset(std::span<const std::size_t>(order).first(held));
  Dataset train = out.train.subset(std::span<const std::size_t>(order).subspan(held));
  out.train = std::move(train);
  out.split = to_string(s);
  return out;
}

}  // namespace digitnet
