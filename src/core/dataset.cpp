#include "digitnet/core/dataset.hpp"

namespace digitnet {

Dataset Dataset::subset(std::span<const std::size_t> indices) const {
  Dataset d;
  d.name = name;
  d.height = height;
  d.width = width;
  d.pixel_max = pixel_max;
  d.warnings = warnings;
  const bool floating = has_floats();
  if (floating) d.values.reserve(indices.size() * features());
  else d.pixels.reserve(indices.size() * features());
  d.labels.reserve(indices.size());
  for (std::size_t i : indices) {
    if (floating) d.values.insert(d.values.end(), floats(i), floats(i) + features());
    else d.pixels.insert(d.pixels.end(), image(i), image(i) + features());
    d.labels.push_back(labels[i]);
  }
  return d;
}

}  // namespace digitnet
