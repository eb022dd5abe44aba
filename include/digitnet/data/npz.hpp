#pragma once
// NumPy's .npy arrays and .npz archives (a zip of .npy files), so models move
// between digitnet and Python: np.load reads what we write, and we read what
// np.savez and np.savez_compressed write. Little-endian, C order.
#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <vector>

namespace digitnet {

struct NpyArray {
  std::string descr;               // '<f4', '<f8', '<i8', '<i4', '|u1', '<U12', ...
  std::vector<std::size_t> shape;  // () for a scalar
  std::vector<std::uint8_t> data;  // raw little-endian elements

  std::size_t count() const;  // product of shape
  bool is_numeric() const;
  std::vector<double> to_doubles() const;  // any numeric descr; throws otherwise
  std::vector<float> to_floats() const;
  std::string to_string() const;  // '<U' arrays as UTF-8

  static NpyArray from_floats(std::span<const float> values, std::vector<std::size_t> shape);
  static NpyArray from_doubles(std::span<const double> values, std::vector<std::size_t> shape);
  static NpyArray from_string(const std::string& utf8);  // a 0-d '<U' array, like np.array("...")
};

using NpzArchive = std::map<std::string, NpyArray>;  // "w1" -> array (".npy" dropped)

NpyArray parse_npy(std::span<const std::uint8_t> bytes, const std::string& what);
std::vector<std::uint8_t> serialize_npy(const NpyArray& array);

// Every member is checked against its CRC-32 and its declared size, and what the headers
// declare is bounded by the size of the archive, before anything is allocated.
NpzArchive parse_npz(std::span<const std::uint8_t> bytes, const std::string& what);
NpzArchive read_npz(const std::string& path);
std::vector<std::uint8_t> serialize_npz(const NpzArchive& archive);  // stored (uncompressed), as np.savez
void write_npz(const std::string& path, const NpzArchive& archive);  // durable and atomic (file.hpp)

}  // namespace digitnet
