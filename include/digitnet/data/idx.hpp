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
std::vector<std::uint8_t> serialize_idx(const std::vector<std::uint32_t>& dims, std::span<const std::uint8_t> data);
IdxArray read_idx(const std::string& path);  // gzipped or not

// An image file (N, H, W) and a label file (N) of one set; checks counts and labels.
Dataset load_idx_pair(const std::string& images_path, const std::string& labels_path);

// Finds "<prefix>-images-idx3-ubyte" in dir, also "<prefix>-images.idx3-ubyte" and ".gz".
std::optional<std::string> find_idx_file(const std::string& dir, const std::string& prefix, const std::string& kind);

}  // namespace digitnet
