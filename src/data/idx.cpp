#include "digitnet/data/idx.hpp"

#include <filesystem>

#include <fmt/format.h>

#include "digitnet/core/error.hpp"
#include "digitnet/data/file.hpp"

namespace digitnet {

IdxArray parse_idx(std::span<const std::uint8_t> bytes, const std::string& what) {
  if (bytes.size() < 4 || bytes[0] != 0 || bytes[1] != 0)
    throw Error(fmt::format("{}: not an IDX file (wrong magic number)", what));
  if (bytes[2] != 0x08)
    throw Error(fmt::format("{}: IDX data type 0x{:02x} is not supported (only unsigned bytes, 0x08)", what, bytes[2]));
  const int ndim = bytes[3];
  if (ndim < 1 || ndim > 4) throw Error(fmt::format("{}: IDX file with {} dimensions is not supported", what, ndim));
  const std::size_t header = 4 + 4 * static_cast<std::size_t>(ndim);
  if (bytes.size() < header) throw Error(fmt::format("{}: truncated IDX header", what));
  IdxArray out;
  std::uint64_t total = 1;
  for (int d = 0; d < ndim; ++d) {
    const std::uint8_t* p = bytes.data() + 4 + 4 * d;
    const std::uint32_t n =
        (std::uint32_t(p[0]) << 24) | (std::uint32_t(p[1]) << 16) | (std::uint32_t(p[2]) << 8) | p[3];
    out.dims.push_back(n);
    total *= n;
    if (total > (std::uint64_t(1) << 34)) throw Error(fmt::format("{}: IDX sizes are implausibly large", what));
  }
  const std::size_t have = bytes.size() - header;
  if (have < total)
    throw Error(fmt::format("{}: truncated: the header promises {} bytes of data, the file has {}", what, total, have));
  if (have > total)
    throw Error(fmt::format("{}: {} unexpected bytes after the data the header describes", what, have - total));
  out.data.assign(bytes.begin() + static_cast<std::ptrdiff_t>(header), bytes.end());
  return out;
}

std::vector<std::uint8_t> serialize_idx(const std::vector<std::uint32_t>& dims, std::span<const std::uint8_t> data) {
  std::vector<std::uint8_t> b = {0, 0, 0x08, static_cast<std::uint8_t>(dims.size())};
  for (auto d : dims)
    for (int s = 24; s >= 0; s -= 8) b.push_back(static_cast<std::uint8_t>(d >> s));
  b.insert(b.end(), data.begin(), data.end());
  return b;
}

IdxArray read_idx(const std::string& path) { return parse_idx(read_maybe_gzipped(path), path); }

Dataset load_idx_pair(const std::string& images_path, const std::string& labels_path) {
  IdxArray images = read_idx(images_path);
  IdxArray labels = read_idx(labels_path);
  if (images.dims.size() != 3)
    throw Error(fmt::format("{}: expected images (3 dimensions: count, rows, cols), found {} dimensions", images_path,
                            images.dims.size()));
  if (labels.dims.size() != 1)
    throw Error(fmt::format("{}: expected labels (1 dimension), found {} dimensions", labels_path, labels.dims.size()));
  if (images.dims[0] != labels.dims[0])
    throw Error(
        fmt::format("{}: {} images but {} has {} labels", images_path, images.dims[0], labels_path, labels.dims[0]));
  if (images.dims[0] == 0) throw Error(fmt::format("{}: contains no images", images_path));
  if (images.dims[1] == 0 || images.dims[2] == 0 || images.dims[1] * images.dims[2] > 1'000'000)
    throw Error(fmt::format("{}: unusable image size {}x{}", images_path, images.dims[1], images.dims[2]));
  for (std::size_t i = 0; i < labels.data.size(); ++i)
    if (labels.data[i] >= kClasses)
      throw Error(
          fmt::format("{}: label {} at index {} is out of range 0..{}", labels_path, labels.data[i], i, kClasses - 1));
  Dataset d;
  d.height = static_cast<int>(images.dims[1]);
  d.width = static_cast<int>(images.dims[2]);
  d.pixel_max = 255;
  d.pixels = std::move(images.data);
  d.labels = std::move(labels.data);
  return d;
}

std::optional<std::string> find_idx_file(const std::string& dir, const std::string& prefix, const std::string& kind) {
  const std::string idx = kind == "images" ? "idx3-ubyte" : "idx1-ubyte";
  for (const char* sep : {"-", "."})
    for (const char* ext : {"", ".gz"}) {
      const auto p = std::filesystem::path(dir) / fmt::format("{}-{}{}{}{}", prefix, kind, sep, idx, ext);
      std::error_code ec;
      if (std::filesystem::is_regular_file(p, ec)) return p.string();
    }
  return std::nullopt;
}

}  // namespace digitnet
