#pragma once
// A labelled image dataset kept as bytes (one row of pixels per example). Conversion to
// floats happens per batch (train/normalize.hpp); loading and splitting are in data/.
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace digitnet {

constexpr int kClasses = 10;  // digits (and Fashion-MNIST's ten classes)

struct Dataset {
  std::string name;                  // where it came from, for messages and the model's config
  int height = 0, width = 0;         // image shape; features() = height * width
  float pixel_max = 255;             // value of a full-intensity pixel (16 for the 8x8 digits)
  std::vector<std::uint8_t> pixels;  // size() * features(), row-major
  std::vector<std::uint8_t> labels;  // 0..9

  std::size_t size() const { return labels.size(); }
  int features() const { return height * width; }
  const std::uint8_t* image(std::size_t i) const { return pixels.data() + i * features(); }
  Dataset subset(std::span<const std::size_t> indices) const;
  // Asks the CPU to start loading these images into cache: shuffled rows are otherwise a
  // cache miss each, so the trainer asks for the next batch while this one trains.
  void prefetch(std::span<const std::size_t> indices) const {
    const auto bytes = static_cast<std::size_t>(features());
    for (std::size_t i : indices)
      for (std::size_t b = 0; b < bytes; b += 64) __builtin_prefetch(image(i) + b);
  }
};

}  // namespace digitnet
