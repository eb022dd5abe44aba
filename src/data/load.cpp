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
#include "digitnet/core/json.hpp"
#include "digitnet/data/csv.hpp"
#include "digitnet/data/file.hpp"
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

// What `digitnet data export` writes beside the files (dataset.json): the data's name and the
// value of a full-intensity pixel, which IDX files have no place for. Empty if there is none.
nlohmann::json sidecar(const std::string& dir) {
  const std::string path = (std::filesystem::path(dir) / kDatasetSidecar).string();
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return {};
  const Bytes bytes = read_file(path);
  nlohmann::json j =
      parse_json({reinterpret_cast<const char*>(bytes.data()), bytes.size()}, path, {.max_bytes = 1 << 16});
  if (!j.is_object()) throw Error(fmt::format("{}: is not a JSON object", path));
  if (j.contains("pixel_max") &&
      !(j["pixel_max"].is_number_integer() && j["pixel_max"].get<long>() >= 1 && j["pixel_max"].get<long>() <= 255))
    throw Error(fmt::format("{}: 'pixel_max' must be a whole number from 1 to 255", path));
  if (j.contains("name") && !j["name"].is_string()) throw Error(fmt::format("{}: 'name' must be text", path));
  return j;
}

void apply_sidecar(Dataset& d, const std::string& dir) {
  const nlohmann::json j = sidecar(dir);
  if (j.contains("name")) d.name = j["name"].get<std::string>();
  if (j.contains("pixel_max")) {
    d.pixel_max = static_cast<float>(j["pixel_max"].get<long>());
    for (std::size_t i = 0; i < d.pixels.size(); ++i)
      if (d.pixels[i] > d.pixel_max)
        throw Error(fmt::format("{}: a pixel is {}, above the pixel_max {} its {} says", dir, d.pixels[i], d.pixel_max,
                                kDatasetSidecar));
  }
}

Dataset load_idx_dir(const std::string& dir, const std::string& prefix) {
  const auto files = find_idx_pair(dir, prefix);
  if (!files)
    throw Error(fmt::format("{}: no {}-images-idx3-ubyte and {}-labels-idx1-ubyte (or .idx3-ubyte, .gz) found", dir,
                            prefix, prefix));
  Dataset d = load_idx_pair(files->images, files->labels);
  d.name = dataset_name(dir);
  apply_sidecar(d, dir);
  // IDX bytes say nothing of full intensity: pixels that never pass 16 may be 0..16 data (the
  // 8x8 digits) read as 0..255 images, ten times too dark.
  if (!sidecar(dir).contains("pixel_max") && !d.pixels.empty()) {
    const std::uint8_t top = *std::max_element(d.pixels.begin(), d.pixels.end());
    if (top <= 16)
      d.warnings.push_back(
          fmt::format("{}: pixels only reach {}, read as 0..255 (dark images); if {} is full "
                      "intensity, put {{\"pixel_max\": {}}} in {}/{}",
                      files->images, top, top, top, dir, kDatasetSidecar));
  }
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
  std::vector<std::pair<std::string, int>> files;  // path, label
  for (int label = 0; label < kClasses; ++label) {
    const auto sub = std::filesystem::path(dir) / std::to_string(label);
    if (!std::filesystem::is_directory(sub, ec)) continue;
    for (const auto& e : std::filesystem::directory_iterator(sub, ec))
      if (e.is_regular_file()) files.emplace_back(e.path().string(), label);
  }
  // A fixed order, whatever the file system's: by file name across the folders, so that files
  // `data export` numbered come back in the order they were written (then by class).
  std::sort(files.begin(), files.end(), [](const auto& a, const auto& b) {
    const std::string fa = std::filesystem::path(a.first).filename().string(),
                      fb = std::filesystem::path(b.first).filename().string();
    return fa != fb ? fa < fb : a.second < b.second;
  });
  std::vector<GrayImage> images;
  images.reserve(files.size());
  for (const auto& [f, label] : files) images.push_back(load_image(f));
  Dataset d;
  d.name = dataset_name(dir);
  // Images of one size, light on dark, in gray levels of one full intensity (as `data export`
  // writes them) are the examples pixel for pixel; any other set is prepared as `predict`
  // prepares an image of another size: 28x28, by MNIST's convention.
  const bool same = !images.empty() && std::all_of(images.begin(), images.end(), [&](const GrayImage& g) {
    return g.width == images[0].width && g.height == images[0].height && !g.levels.empty() &&
           g.maxval == images[0].maxval && g.maxval <= 255 && light_on_dark(g);
  });
  const InputFormat format = same ? InputFormat{images[0].height, images[0].width, float(images[0].maxval)}
                                  : InputFormat{28, 28, 255, Centring::mnist};
  d.height = format.height;
  d.width = format.width;
  d.pixel_max = format.pixel_max;
  for (std::size_t i = 0; i < images.size(); ++i) {
    const ModelInput in = prepare_input(images[i], format, files[i].first);
    if (in.as_is) {
      d.pixels.insert(d.pixels.end(), in.example.pixels.begin(), in.example.pixels.end());
    } else {
      for (float v : in.example.values)  // in units of the format's full intensity, as the bytes are
        d.pixels.push_back(static_cast<std::uint8_t>(std::lround(std::clamp(v, 0.0f, format.pixel_max))));
    }
    d.labels.push_back(static_cast<std::uint8_t>(files[i].second));
  }
  if (!same && !images.empty())
    d.warnings.push_back(
        fmt::format("{}: its images are not all light on dark gray ones of one size: each is "
                    "prepared to 28x28 as predict prepares one (MNIST's convention)",
                    dir));
  apply_sidecar(d, dir);
  if (d.labels.empty()) throw Error(fmt::format("{}: the folders 0/ to 9/ hold no images", dir));
  return d;
}

Dataset load_any(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    if (!find_idx_pair(path, "train") && !find_idx_pair(path, "t10k") && is_image_folder_set(path))
      return load_image_folders(path);
    return load_idx_dir(path, "train");
  }
  if (!std::filesystem::exists(path, ec)) throw SettingError("data", fmt::format("'{}' does not exist", path));
  Dataset d = load_csv(path);
  d.name = dataset_name(path);
  return d;
}

namespace {

// What `data export` writes for csv and png-folders: OUT/train.csv and OUT/test.csv, or
// OUT/train/ and OUT/test/ (image folders): a dataset with its own test part. nullopt for any
// other path.
std::optional<DataSplit> load_exported(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_directory(path, ec)) return std::nullopt;
  const fs::path dir(path);
  const bool csv = fs::exists(dir / "train.csv", ec) || fs::exists(dir / "test.csv", ec);
  const bool images = fs::is_directory(dir / "train", ec) || fs::is_directory(dir / "test", ec);
  if (!csv && !images) return std::nullopt;
  const auto part = [&](const char* name) -> std::optional<Dataset> {
    const fs::path p = csv ? dir / (std::string(name) + ".csv") : dir / name;
    if (!fs::exists(p, ec)) return std::nullopt;
    Dataset d = csv ? load_csv(p.string()) : load_image_folders(p.string());
    d.name = dataset_name(path);
    return d;
  };
  DataSplit out;
  auto train = part("train"), test = part("test");
  if (!test)
    throw Error(fmt::format("{}: has {} but no {}", path, csv ? "train.csv" : "train/", csv ? "test.csv" : "test/"));
  out.test = std::move(*test);
  out.train = train ? std::move(*train) : out.test.subset({});
  if (out.train.size() > 0 && (out.train.height != out.test.height || out.train.width != out.test.width ||
                               out.train.pixel_max != out.test.pixel_max))
    throw Error(fmt::format("{}: its train and test parts differ in shape or range", path));
  out.split = "official";
  return out;
}

}  // namespace

DataSplit load_data(const std::string& path, const SplitSpec& split, std::uint64_t seed) {
  std::error_code ec;
  if (auto exported = load_exported(path)) {  // its own test part: official
    if (split.kind == SplitSpec::automatic || split.kind == SplitSpec::official) return std::move(*exported);
    Dataset all = std::move(exported->train);
    all.pixels.insert(all.pixels.end(), exported->test.pixels.begin(), exported->test.pixels.end());
    all.labels.insert(all.labels.end(), exported->test.labels.begin(), exported->test.labels.end());
    return split_dataset(all, split, seed);
  }
  const bool dir = std::filesystem::is_directory(path, ec);
  const bool has_official = dir && find_idx_pair(path, "t10k");  // half a test set is refused here
  // A test set alone (as `data export --part test` writes): nothing to train on, all of it to test.
  const bool test_only = has_official && !find_idx_pair(path, "train");
  DataSplit out;
  if (test_only) {
    out.test = load_idx_dir(path, "t10k");
    out.train = out.test.subset({});
    out.split = "official";
    if (split.kind != SplitSpec::automatic && split.kind != SplitSpec::official && split.kind != SplitSpec::all)
      throw SettingError("split", fmt::format("{}: holds a test set only (t10k files); choose official or all", path));
    return out;
  }
  out.train = load_any(path);
  SplitSpec s = split;
  if (s.kind == SplitSpec::automatic)
    s = has_official ? SplitSpec{SplitSpec::official} : SplitSpec{SplitSpec::random, 0.2, 0};
  if (s.kind == SplitSpec::official) {
    if (!has_official)
      throw SettingError("split",
                         fmt::format("official: {} has no t10k-images-idx3-ubyte/t10k-labels-idx1-ubyte test files; "
                                     "choose random:0.2, dev:N or all",
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
  if (d.split.train.size() == 0)
    throw SettingError("split", fmt::format("{} leaves no examples to train on", d.split.split));
  const Dataset& train = d.split.train;
  fit_to_data(r, train.features(), train.height, layers_given);
  if (r.val > 0) d.val = hold_out(d.split.train, r.val, r.seed);  // never from the test part
  return d;
}

}  // namespace digitnet
