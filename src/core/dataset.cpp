#include "digitnet/core/dataset.hpp"

namespace digitnet {

Dataset Dataset::subset(std::span<const std::size_t> indices) const {
  Dataset d;
  d.name = name;
  d.height = height;
  d.width = width;
  d.pixel_max = pixel_max;
  d.pixels.reserve(indices.size() * features());
  d.labels.reserve(indices.size());
  for (std::size_t i : indices) {
    d.pixels.insert(d.pixels.end(), image(i), image(i) + features());
    d.labels.push_back(labels[i]);
  }
  return d;
}

}  // namespace digitnet
