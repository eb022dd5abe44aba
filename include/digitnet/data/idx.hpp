#pragma once
// IDX files, the format MNIST and Fashion-MNIST ship in: magic 0x0000 0x08 NDIM,
// NDIM big-endian uint32 sizes, then the unsigned bytes.
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "digitnet/core/dataset.hpp"

namespace digitnet {

struct IdxArray {
  std::vector<std::uint32_t> dims;
  std::vector<std::uint8_t> data;
};

IdxArray parse_idx(std::span<const std::uint8_t> bytes, const std::string& what);
// Gzipped or not. A gzip stream is inflated no further than its IDX header says, and only if the
// header claims a size the compressed bytes can honestly hold (file.hpp); expected_dims (when
// not 0) is checked in the header's magic number before anything is inflated.
IdxArray parse_idx_maybe_gzipped(std::span<const std::uint8_t> bytes, const std::string& what, int expected_dims = 0);
IdxArray read_idx(const std::string& path, int expected_dims = 0);
std::vector<std::uint8_t> serialize_idx(const std::vector<std::uint32_t>& dims, std::span<const std::uint8_t> data);

// An image file (N, H, W) and a label file (N) of one set; checks counts and labels.
Dataset load_idx_pair(const std::string& images_path, const std::string& labels_path);

// Finds "<prefix>-images-idx3-ubyte" in dir, also "<prefix>-images.idx3-ubyte" and ".gz".
std::optional<std::string> find_idx_file(const std::string& dir, const std::string& prefix, const std::string& kind);

}  // namespace digitnet
