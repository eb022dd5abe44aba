#pragma once
// Helpers the tests share: temp dirs, small generated datasets in every format,
// running the CLI binary, comparing arrays.
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

#include "digitnet/core/dataset.hpp"
#include "digitnet/data/file.hpp"

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
Bytes gzip(std::span<const std::uint8_t> bytes);

Bytes make_idx(const std::vector<std::uint32_t>& dims, std::span<const std::uint8_t> data);
// A learnable toy dataset: each class is a fixed random pattern plus noise.
Dataset synthetic(std::size_t n, int height, int width, std::uint64_t seed);
// Writes train-*/t10k-* IDX files (optionally gzipped, optionally with '.' before idx).
void write_idx_dir(const std::string& dir, const Dataset& train, const Dataset* test, bool gz = false,
                   const std::string& sep = "-");
std::string to_kaggle_csv(const Dataset& d);

// Largest |a - b| divided by the largest |b| (a relative error that ignores tiny entries).
double rel_error(std::span<const double> a, std::span<const double> b);

Bytes png(std::span<const std::uint8_t> gray, int width, int height);

struct RunResult {
  int code = 0;
  std::string out, err;
};
RunResult run_cli(const std::string& args);  // runs the digitnet binary with these arguments
RunResult run_cli_env(const std::string& env, const std::string& args);  // env: "NAME=value ..."

}  // namespace digitnet::test
