#include "digitnet/export.hpp"

#include <cmath>
#include <filesystem>

#include <fmt/format.h>
#include <stb_image_write.h>

#include "digitnet/error.hpp"
#include "digitnet/file.hpp"

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

Bytes idx(const std::vector<std::uint32_t>& dims, const std::vector<std::uint8_t>& data) {
  Bytes b = {0, 0, 0x08, static_cast<std::uint8_t>(dims.size())};
  for (auto d : dims)
    for (int s = 24; s >= 0; s -= 8) b.push_back(static_cast<std::uint8_t>(d >> s));
  b.insert(b.end(), data.begin(), data.end());
  return b;
}

void write_idx(const Dataset& d, const fs::path& dir, const std::string& prefix) {
  const auto n = static_cast<std::uint32_t>(d.size());
  write_file_atomic((dir / (prefix + "-images-idx3-ubyte")).string(),
                    idx({n, std::uint32_t(d.height), std::uint32_t(d.width)}, d.pixels));
  write_file_atomic((dir / (prefix + "-labels-idx1-ubyte")).string(), idx({n}, d.labels));
}

void write_pngs(const Dataset& d, const fs::path& dir) {
  std::vector<std::uint8_t> gray(d.features());
  for (std::size_t i = 0; i < d.size(); ++i) {
    const fs::path sub = dir / std::to_string(d.labels[i]);
    if (i < kClasses || !fs::exists(sub)) make_dir(sub);
    for (int f = 0; f < d.features(); ++f)  // full intensity -> 255, e.g. 0..16 digits
      gray[f] = static_cast<std::uint8_t>(std::lround(d.image(i)[f] * 255.0 / d.pixel_max));
    Bytes png;
    stbi_write_png_to_func(
        [](void* ctx, void* data, int size) {
          auto* out = static_cast<Bytes*>(ctx);
          out->insert(out->end(), static_cast<std::uint8_t*>(data), static_cast<std::uint8_t*>(data) + size);
        },
        &png, d.width, d.height, 1, gray.data(), d.width);
    write_file_atomic((sub / fmt::format("{:05}.png", i)).string(), png);
  }
}

}  // namespace

ExportFormat parse_export_format(std::string_view name) {
  if (name == "csv") return ExportFormat::csv;
  if (name == "idx") return ExportFormat::idx;
  if (name == "png-folders") return ExportFormat::png_folders;
  throw Error(fmt::format("--format: unknown value '{}' (expected csv, idx or png-folders)", name));
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
