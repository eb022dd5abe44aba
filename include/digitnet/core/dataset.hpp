#pragma once
// A labelled image dataset kept as bytes (one row of pixels per example). Conversion to
// floats happens per batch (train/normalize.hpp); loading and splitting are in data/.
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace digitnet {

// Asks for the cache line holding p. The empty asm statement "uses" p: a loop of prefetches
// alone has no effect the language can see, and GCC deletes such a loop (-ffinite-loops, on by
// default in C++). It did: c806b0d's binaries have no prefetch instruction, 8b64d10's have.
inline void prefetch_line(const void* p) {
  __builtin_prefetch(p);
  asm volatile("" : : "r"(p));
}

constexpr int kClasses = 10;  // digits (and Fashion-MNIST's ten classes)

struct Dataset {
  std::string name;                  // where it came from, for messages and the model's config
  int height = 0, width = 0;         // image shape; features() = height * width
  float pixel_max = 255;             // value of a full-intensity pixel (16 for the 8x8 digits)
  std::vector<std::uint8_t> pixels;  // size() * features(), row-major
  std::vector<std::uint8_t> labels;  // 0..9 (0..classes-1 for other data)
  // Features that are not bytes (the Python module's float arrays): rows of floats, read as
  // x = value / pixel_max instead of pixels. Empty for the data the CLI loads.
  std::vector<float> values;
  // Either kind of row can instead be borrowed from memory the caller keeps alive for as long
  // as the dataset is used (a NumPy array the Python module trains on without a copy).
  std::span<const std::uint8_t> pixel_view;
  std::span<const float> value_view;
  // What a reader found ambiguous and decided (the CLI prints each as a warning).
  std::vector<std::string> warnings;

  std::size_t size() const { return labels.size(); }
  int features() const { return height * width; }
  bool has_floats() const { return !values.empty() || !value_view.empty(); }
  const std::uint8_t* image(std::size_t i) const {
    return (pixel_view.empty() ? pixels.data() : pixel_view.data()) + i * features();
  }
  const float* floats(std::size_t i) const {  // only when has_floats()
    return (value_view.empty() ? values.data() : value_view.data()) + i * features();
  }
  Dataset subset(std::span<const std::size_t> indices) const;
  // Asks the CPU to start loading these images (features first .. first + count of each, all
  // when count is -1) into cache: shuffled rows are otherwise a cache miss each, so the
  // trainer asks for the next batch while this one trains.
  void prefetch(std::span<const std::size_t> indices, int first = 0, int count = -1) const {
    if (count < 0) count = features() - first;
    if (count <= 0) return;
    const bool as_floats = has_floats();
    const std::size_t size = as_floats ? sizeof(float) : 1;
    const std::size_t begin = std::size_t(first) * size, end = std::size_t(first + count) * size;
    for (std::size_t i : indices) {
      const auto* row = static_cast<const char*>(as_floats ? static_cast<const void*>(floats(i))
                                                           : static_cast<const void*>(image(i)));
      // Every 64-byte line the bytes [begin, end) touch: steps of a line from the first byte
      // reach each next line, and the last byte its own (no address outside the bytes is formed).
      for (std::size_t at = begin; at < end; at += 64) prefetch_line(row + at);
      prefetch_line(row + end - 1);
    }
  }
};

}  // namespace digitnet
