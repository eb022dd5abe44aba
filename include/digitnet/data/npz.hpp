#pragma once
// NumPy's .npy arrays and .npz archives (a zip of .npy files), so models move
// between digitnet and Python: np.load reads what we write, and we read what
// np.savez and np.savez_compressed write. Little-endian, C order.
#include <cstdint>
#include <functional>
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

// What an .npy header declares, known before any of the array's data is read.
struct NpyHeader {
  std::string descr;
  std::vector<std::size_t> shape;
  std::size_t data_bytes = 0;  // the shape's product times the size of one element
  bool is_numeric() const;
};

NpyArray parse_npy(std::span<const std::uint8_t> bytes, const std::string& what);
std::vector<std::uint8_t> serialize_npy(const NpyArray& array);

// Asked of each member of an archive once its .npy header is read, before any of its data is
// inflated or allocated: true reads the member, false leaves it out (not inflated, not in the
// result), and an Error thrown refuses the archive. A deflated member may honestly hold about
// 1,000 times its compressed size; a reader that knows what it expects (a model file's config
// gives each array's shape) refuses anything else before paying for it.
using NpzSelect = std::function<bool(const std::string& name, const NpyHeader& header)>;

// Every member read is checked against its CRC-32 and its declared size, and what the headers
// declare is bounded by the bytes there are (and by `select`) before anything is allocated:
// a stored member holds exactly its compressed size, a deflated one at most 1,100 times it,
// and an .npy header's shape must match the size of its member.
NpzArchive parse_npz(std::span<const std::uint8_t> bytes, const std::string& what, const NpzSelect& select = {});
NpzArchive read_npz(const std::string& path, const NpzSelect& select = {});
std::vector<std::uint8_t> serialize_npz(const NpzArchive& archive);  // stored (uncompressed), as np.savez
void write_npz(const std::string& path, const NpzArchive& archive);  // durable and atomic (file.hpp)

}  // namespace digitnet
