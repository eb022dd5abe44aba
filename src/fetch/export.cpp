#include "digitnet/fetch/export.hpp"

#include <cmath>
#include <filesystem>

#include <fmt/format.h>

#include "digitnet/core/error.hpp"
#include "digitnet/data/file.hpp"
#include "digitnet/data/idx.hpp"
#include "digitnet/data/image.hpp"

namespace fs = std::filesystem;

namespace digitnet {
namespace {

void make_dir(const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw Error(fmt::format("{}: cannot create ({})", dir.string(), ec.message()));
}

void write_csv(const Dataset& d, const fs::path& path) {
  std::string text = "label";
  for (int f = 0; f < d.features(); ++f) text += fmt::format(",pixel{}", f);
  text += "\n";
  for (std::size_t i = 0; i < d.size(); ++i) {
    text += std::to_string(d.labels[i]);
    for (int f = 0; f < d.features(); ++f) text += fmt::format(",{}", d.image(i)[f]);
    text += "\n";
  }
  write_file_atomic(path.string(), {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()});
}

void write_idx(const Dataset& d, const fs::path& dir, const std::string& prefix) {
  const auto n = static_cast<std::uint32_t>(d.size());
  write_file_atomic((dir / (prefix + "-images-idx3-ubyte")).string(),
                    serialize_idx({n, std::uint32_t(d.height), std::uint32_t(d.width)}, d.pixels));
  write_file_atomic((dir / (prefix + "-labels-idx1-ubyte")).string(), serialize_idx({n}, d.labels));
}

void write_pngs(const Dataset& d, const fs::path& dir) {
  std::vector<std::uint8_t> gray(d.features());
  for (std::size_t i = 0; i < d.size(); ++i) {
    const fs::path sub = dir / std::to_string(d.labels[i]);
    if (i < kClasses || !fs::exists(sub)) make_dir(sub);
    for (int f = 0; f < d.features(); ++f)  // full intensity -> 255, e.g. 0..16 digits
      gray[f] = static_cast<std::uint8_t>(std::lround(d.image(i)[f] * 255.0 / d.pixel_max));
    write_file_atomic((sub / fmt::format("{:05}.png", i)).string(), encode_png(gray.data(), d.width, d.height, 1));
  }
}

}  // namespace

ExportFormat parse_export_format(std::string_view name) {
  if (name == "csv") return ExportFormat::csv;
  if (name == "idx") return ExportFormat::idx;
  if (name == "png-folders") return ExportFormat::png_folders;
  throw SettingError("format", fmt::format("'{}' is not one of csv, idx or png-folders", name));
}

void export_dataset(const DataSplit& data, ExportFormat format, const std::string& out_dir) {
  const fs::path out(out_dir);
  make_dir(out);
  switch (format) {
    case ExportFormat::csv:
      write_csv(data.train, out / "train.csv");
      write_csv(data.test, out / "test.csv");
      break;
    case ExportFormat::idx:
      write_idx(data.train, out, "train");
      write_idx(data.test, out, "t10k");
      break;
    case ExportFormat::png_folders:
      write_pngs(data.train, out / "train");
      write_pngs(data.test, out / "test");
      break;
  }
}

}  // namespace digitnet
