#include "digitnet/data/load.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <numeric>
#include <optional>

#include <fmt/format.h>

#include "digitnet/core/error.hpp"
#include "digitnet/data/csv.hpp"
#include "digitnet/data/idx.hpp"
#include "digitnet/data/image.hpp"

namespace digitnet {

std::string dataset_name(const std::string& path) {
  auto p = std::filesystem::path(path);
  if (!p.has_filename()) p = p.parent_path();
  std::string name = p.filename().string();
  for (const char* ext : {".gz", ".csv"})
    if (name.size() > std::strlen(ext) && name.ends_with(ext)) name.resize(name.size() - std::strlen(ext));
  return name;
}

namespace {

struct IdxPair {
  std::string images, labels;
};

// The images and labels files of one set ("train", "t10k") in dir: both, or neither (nullopt).
// One without the other is an error naming the missing file: half a set is a mistake to point
// out, not a set to leave out.
std::optional<IdxPair> find_idx_pair(const std::string& dir, const std::string& prefix) {
  const auto images = find_idx_file(dir, prefix, "images");
  const auto labels = find_idx_file(dir, prefix, "labels");
  if (images && labels) return IdxPair{*images, *labels};
  const auto missing = [&](const std::string& found, const char* kind, const char* idx) {
    return Error(fmt::format("{}: has {} but no {}-{}-{} (nor {}-{}.{}, or either with .gz)", dir,
                             std::filesystem::path(found).filename().string(), prefix, kind, idx, prefix, kind, idx));
  };
  if (images) throw missing(*images, "labels", "idx1-ubyte");
  if (labels) throw missing(*labels, "images", "idx3-ubyte");
  return std::nullopt;
}

Dataset load_idx_dir(const std::string& dir, const std::string& prefix) {
  const auto files = find_idx_pair(dir, prefix);
  if (!files)
    throw Error(fmt::format("{}: no {}-images-idx3-ubyte and {}-labels-idx1-ubyte (or .idx3-ubyte, .gz) found", dir,
                            prefix, prefix));
  Dataset d = load_idx_pair(files->images, files->labels);
  d.name = dataset_name(dir);
  return d;
}

bool is_image_folder_set(const std::string& dir) {
  std::error_code ec;
  int found = 0;
  for (int d = 0; d < kClasses; ++d)
    found += std::filesystem::is_directory(std::filesystem::path(dir) / std::to_string(d), ec);
  return found >= 2;
}

}  // namespace

Dataset load_image_folders(const std::string& dir) {
  // Every sub-folder is a class: one that is not 0..9 is a mistake to point out, not to skip
  // (hidden ones, like .ipynb_checkpoints, are not the user's).
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    const std::string name = e.path().filename().string();
    if (e.is_directory() && !name.starts_with(".") && !(name.size() == 1 && name[0] >= '0' && name[0] < '0' + kClasses))
      throw Error(fmt::format("{}: the folder '{}' is not a class; image folders must be named 0 to {}", dir, name,
                              kClasses - 1));
  }
  Dataset d;
  d.name = dataset_name(dir);
  d.height = d.width = 28;
  d.pixel_max = 255;
  for (int label = 0; label < kClasses; ++label) {
    const auto sub = std::filesystem::path(dir) / std::to_string(label);
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
  if (std::filesystem::is_directory(path, ec)) {
    if (!find_idx_pair(path, "train") && is_image_folder_set(path)) return load_image_folders(path);
    return load_idx_dir(path, "train");
  }
  if (!std::filesystem::exists(path, ec)) throw SettingError("data", fmt::format("'{}' does not exist", path));
  Dataset d = load_csv(path);
  d.name = dataset_name(path);
  return d;
}

DataSplit load_data(const std::string& path, const SplitSpec& split, std::uint64_t seed) {
  std::error_code ec;
  const bool dir = std::filesystem::is_directory(path, ec);
  const bool has_official = dir && find_idx_pair(path, "t10k");  // half a test set is refused here
  DataSplit out;
  out.train = load_any(path);
  SplitSpec s = split;
  if (s.kind == SplitSpec::automatic)
    s = has_official ? SplitSpec{SplitSpec::official} : SplitSpec{SplitSpec::random, 0.2, 0};
  if (s.kind == SplitSpec::official) {
    if (!has_official)
      throw SettingError("split",
                         fmt::format("official: {} has no t10k-images-idx3-ubyte/t10k-labels-idx1-ubyte test files; "
                                     "choose random:0.2 or dev:N",
                                     path));
    out.test = load_idx_dir(path, "t10k");
    if (out.test.height != out.train.height || out.test.width != out.train.width)
      throw Error(fmt::format("{}: test images are {}x{} but training images are {}x{}", path, out.test.height,
                              out.test.width, out.train.height, out.train.width));
    out.split = "official";
    return out;
  }
  return split_dataset(out.train, s, seed);
}

RunData load_run_data(Recipe& r, const std::string& path, bool layers_given) {
  RunData d{load_data(path, data_split(r), r.seed), {}, {}};
  const Dataset& train = d.split.train;
  fit_to_data(r, train.features(), train.height, layers_given);
  if (r.val > 0) d.val = hold_out(d.split.train, r.val, r.seed);  // never from the test part
  return d;
}

}  // namespace digitnet
