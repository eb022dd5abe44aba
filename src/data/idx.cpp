#include "digitnet/data/idx.hpp"

#include <filesystem>

#include <fmt/format.h>

#include "digitnet/core/error.hpp"
#include "digitnet/data/file.hpp"

namespace digitnet {

namespace {

struct IdxHeader {
  std::vector<std::uint32_t> dims;
  std::size_t header_bytes = 0, data_bytes = 0;
};

// The header at the start of bytes (at least its first 4 + 4 * ndim bytes).
IdxHeader parse_header(std::span<const std::uint8_t> bytes, const std::string& what, int expected_dims) {
  if (bytes.size() < 4 || bytes[0] != 0 || bytes[1] != 0)
    throw Error(fmt::format("{}: not an IDX file (wrong magic number)", what));
  if (bytes[2] != 0x08)
    throw Error(fmt::format("{}: IDX data type 0x{:02x} is not supported (only unsigned bytes, 0x08)", what, bytes[2]));
  const int ndim = bytes[3];
  if (expected_dims != 0 && ndim != expected_dims)
    throw Error(fmt::format(
        "{}: has the magic number of an IDX file of {} dimensions (0x{:08x}); {} (0x{:08x})", what, ndim, 0x800 + ndim,
        expected_dims == 1 ? "labels are expected" : "images of 3 dimensions are expected", 0x800 + expected_dims));
  if (ndim < 1 || ndim > 4) throw Error(fmt::format("{}: IDX file with {} dimensions is not supported", what, ndim));
  IdxHeader h;
  h.header_bytes = 4 + 4 * static_cast<std::size_t>(ndim);
  if (bytes.size() < h.header_bytes) throw Error(fmt::format("{}: truncated IDX header", what));
  std::uint64_t total = 1;
  for (int d = 0; d < ndim; ++d) {
    const std::uint8_t* p = bytes.data() + 4 + 4 * d;
    const std::uint32_t n =
        (std::uint32_t(p[0]) << 24) | (std::uint32_t(p[1]) << 16) | (std::uint32_t(p[2]) << 8) | p[3];
    h.dims.push_back(n);
    total *= n;
    if (total > (std::uint64_t(1) << 34)) throw Error(fmt::format("{}: IDX sizes are implausibly large", what));
  }
  h.data_bytes = static_cast<std::size_t>(total);
  return h;
}

IdxArray parse_idx(std::span<const std::uint8_t> bytes, const std::string& what, int expected_dims) {
  const IdxHeader h = parse_header(bytes, what, expected_dims);
  const std::size_t have = bytes.size() - h.header_bytes;
  if (have < h.data_bytes)
    throw Error(
        fmt::format("{}: truncated: the header promises {} bytes of data, the file has {}", what, h.data_bytes, have));
  if (have > h.data_bytes)
    throw Error(fmt::format("{}: {} unexpected bytes after the data the header describes", what, have - h.data_bytes));
  IdxArray out;
  out.dims = h.dims;
  out.data.assign(bytes.begin() + static_cast<std::ptrdiff_t>(h.header_bytes), bytes.end());
  return out;
}

}  // namespace

IdxArray parse_idx(std::span<const std::uint8_t> bytes, const std::string& what) { return parse_idx(bytes, what, 0); }

IdxArray parse_idx_maybe_gzipped(std::span<const std::uint8_t> bytes, const std::string& what, int expected_dims) {
  if (!is_gzip(bytes)) return parse_idx(bytes, what, expected_dims);
  // The header first: it says how much the stream may inflate to, and that must be a size the
  // compressed bytes can honestly hold. Then inflate no further than that.
  const IdxHeader h = parse_header(gunzip_prefix(bytes, what, 4 + 4 * 4), what, expected_dims);
  const std::size_t total = h.header_bytes + h.data_bytes;
  if (total > plausible_inflated_size(bytes.size()))
    throw Error(
        fmt::format("{}: its IDX header claims {} bytes of data, far more than {} bytes of gzip hold "
                    "(a corrupt header or a decompression bomb)",
                    what, h.data_bytes, bytes.size()));
  return parse_idx(gunzip(bytes, what, total), what, expected_dims);
}

std::vector<std::uint8_t> serialize_idx(const std::vector<std::uint32_t>& dims, std::span<const std::uint8_t> data) {
  std::vector<std::uint8_t> b = {0, 0, 0x08, static_cast<std::uint8_t>(dims.size())};
  for (auto d : dims)
    for (int s = 24; s >= 0; s -= 8) b.push_back(static_cast<std::uint8_t>(d >> s));
  b.insert(b.end(), data.begin(), data.end());
  return b;
}

IdxArray read_idx(const std::string& path, int expected_dims) {
  return parse_idx_maybe_gzipped(read_file(path), path, expected_dims);
}

Dataset load_idx_pair(const std::string& images_path, const std::string& labels_path) {
  IdxArray images = read_idx(images_path, 3);
  IdxArray labels = read_idx(labels_path, 1);
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
