#pragma once
// A labelled image dataset kept as bytes (one row of pixels per example), and the
// ways to load and split one. Conversion to floats happens per batch (normalize.hpp).
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace digitnet {

constexpr int kClasses = 10;  // digits (and Fashion-MNIST's ten classes)

struct Dataset {
  std::string name;          // where it came from, for messages and the model's config
  int height = 0, width = 0;  // image shape; features() = height * width
  float pixel_max = 255;     // value of a full-intensity pixel (16 for the 8x8 digits)
  std::vector<std::uint8_t> pixels;  // size() * features(), row-major
  std::vector<std::uint8_t> labels;  // 0..9

  std::size_t size() const { return labels.size(); }
  int features() const { return height * width; }
  const std::uint8_t* image(std::size_t i) const { return pixels.data() + i * features(); }
  Dataset subset(std::span<const std::size_t> indices) const;
  // Asks the CPU to start loading these images into cache (the next batch, while this one
  // trains: shuffled rows are otherwise a cache miss each).
  void prefetch(std::span<const std::size_t> indices) const {
    const auto bytes = static_cast<std::size_t>(features());
    for (std::size_t i : indices)
      for (std::size_t b = 0; b < bytes; b += 64) __builtin_prefetch(image(i) + b);
  }
};

struct SplitSpec {
  enum Kind { automatic, official, random, dev } kind = automatic;
  double fraction = 0.2;  // random: share held out for testing
  std::size_t count = 0;  // dev: examples held out
};
SplitSpec parse_split(std::string_view text);  // official | random:F | dev:N; throws naming --split
std::string to_string(const SplitSpec& split);

struct DataSplit {
  Dataset train, test;
  std::string split;  // how the test set was chosen, e.g. "official" or "random:0.2"
};

// PATH is a directory with one folder per label (0/ .. 9/) of PNG/JPEG/PGM images, prepared
// like `predict` does (28x28), or a directory of IDX files (train-images-idx3-ubyte[.gz], t10k-..., '-' or '.'
// before idx), a Kaggle-style CSV (header, label first), or scikit-learn's digits.csv[.gz]
// (no header, 64 values then the label). Split automatic: official if the directory
// has t10k files, else random:0.2. Random splits are drawn from `seed`.
DataSplit load_data(const std::string& path, const SplitSpec& split, std::uint64_t seed);

// "fashion-mnist" for /usr/share/datasets/fashion-mnist/, "digits" for .../digits.csv.gz.
std::string dataset_name(const std::string& path);

// The loaders load_data uses.
Dataset load_any(const std::string& path);  // CSV file, image folders, or the train half of an IDX directory
Dataset load_image_folders(const std::string& dir);

}  // namespace digitnet
