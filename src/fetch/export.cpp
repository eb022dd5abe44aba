#include "digitnet/fetch/export.hpp"

#include <cmath>
#include <filesystem>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "digitnet/core/error.hpp"
#include "digitnet/data/file.hpp"
#include "digitnet/data/idx.hpp"
#include "digitnet/data/image.hpp"
#include "digitnet/data/load.hpp"

namespace fs = std::filesystem;

namespace digitnet {
namespace {

void make_dir(const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw Error(fmt::format("{}: cannot create ({})", dir.string(), ec.message()));
}

// The 8x8 digits (64 values 0..16) in scikit-learn's layout, which the reader knows as such;
// any 0..255 data in Kaggle's. Other ranges have no CSV layout that says them.
void write_csv(const Dataset& d, const fs::path& path) {
  const bool sklearn = d.features() == 64 && d.pixel_max == 16;
  if (!sklearn && d.pixel_max != 255)
    throw Error(fmt::format("{}: pixels of 0..{} have no CSV layout that says so; export idx or png-folders",
                            path.string(), d.pixel_max));
  std::string text;
  if (!sklearn) {
    text = "label";
    for (int f = 0; f < d.features(); ++f) text += fmt::format(",pixel{}", f);
    text += "\n";
  }
  for (std::size_t i = 0; i < d.size(); ++i) {
    if (!sklearn) text += std::to_string(d.labels[i]);
    for (int f = 0; f < d.features(); ++f) text += fmt::format("{}{}", f == 0 && sklearn ? "" : ",", d.image(i)[f]);
    if (sklearn) text += fmt::format(",{}", d.labels[i]);
    text += "\n";
  }
  write_file_atomic(path.string(), {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()});
}

// dataset.json: what the files themselves may not say.
void write_sidecar(const Dataset& d, const fs::path& dir, std::size_t examples) {
  const std::string text = nlohmann::json{{"name", d.name},
                                          {"pixel_max", static_cast<int>(d.pixel_max)},
                                          {"height", d.height},
                                          {"width", d.width},
                                          {"examples", examples}}
                               .dump(2) +
                           "\n";
  write_file_atomic((dir / kDatasetSidecar).string(),
                    {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()});
}

// A binary PGM of maxval pixel_max: the 8x8 digits' 0..16 as they are.
std::vector<std::uint8_t> encode_pgm(const std::uint8_t* levels, int width, int height, int maxval) {
  const std::string header = fmt::format("P5\n{} {}\n{}\n", width, height, maxval);
  std::vector<std::uint8_t> out(header.begin(), header.end());
  out.insert(out.end(), levels, levels + static_cast<std::size_t>(width) * height);
  return out;
}

void write_idx(const Dataset& d, const fs::path& dir, const std::string& prefix) {
  const auto n = static_cast<std::uint32_t>(d.size());
  write_file_atomic((dir / (prefix + "-images-idx3-ubyte")).string(),
                    serialize_idx({n, std::uint32_t(d.height), std::uint32_t(d.width)}, d.pixels));
  write_file_atomic((dir / (prefix + "-labels-idx1-ubyte")).string(), serialize_idx({n}, d.labels));
}

void write_pngs(const Dataset& d, const fs::path& dir) {
  const bool png = d.pixel_max == 255;
  for (std::size_t i = 0; i < d.size(); ++i) {
    const fs::path sub = dir / std::to_string(d.labels[i]);
    if (i < kClasses || !fs::exists(sub)) make_dir(sub);
    const std::uint8_t* px = d.image(i);
    write_file_atomic(
        (sub / fmt::format("{:05}.{}", i, png ? "png" : "pgm")).string(),
        png ? encode_png(px, d.width, d.height, 1) : encode_pgm(px, d.width, d.height, static_cast<int>(d.pixel_max)));
  }
  write_sidecar(d, dir, d.size());
}

}  // namespace

ExportFormat parse_export_format(std::string_view name) {
  if (name == "csv") return ExportFormat::csv;
  if (name == "idx") return ExportFormat::idx;
  if (name == "png-folders") return ExportFormat::png_folders;
  throw SettingError("format", fmt::format("'{}' is not one of csv, idx or png-folders", name));
}

ExportPart parse_export_part(std::string_view name) {
  if (name == "both") return ExportPart::both;
  if (name == "train") return ExportPart::train;
  if (name == "test") return ExportPart::test;
  throw SettingError("part", fmt::format("'{}' is not one of both, train or test", name));
}

void export_dataset(const DataSplit& data, ExportFormat format, const std::string& out_dir, ExportPart part) {
  const fs::path out(out_dir);
  make_dir(out);
  const bool train = part != ExportPart::test, test = part != ExportPart::train;
  switch (format) {
    case ExportFormat::csv:
      if (train) write_csv(data.train, out / "train.csv");
      if (test) write_csv(data.test, out / "test.csv");
      break;
    case ExportFormat::idx:
      if (train) write_idx(data.train, out, "train");
      if (test) write_idx(data.test, out, "t10k");
      write_sidecar(test ? data.test : data.train, out,
                    (train ? data.train.size() : 0) + (test ? data.test.size() : 0));
      break;
    case ExportFormat::png_folders:
      if (train) write_pngs(data.train, out / "train");
      if (test) write_pngs(data.test, out / "test");
      break;
  }
}

}  // namespace digitnet
