#include "digitnet/train/memory.hpp"

#include <algorithm>
#include <fstream>
#include <limits>
#include <optional>
#include <sstream>

#include <fmt/format.h>

#include "train/reducer.hpp"

namespace digitnet {

std::string bytes_text(double b) {
  if (b >= 1e9) return fmt::format("{:.1f} GB", b / 1e9);
  if (b >= 1e6) return fmt::format("{:.0f} MB", b / 1e6);
  return fmt::format("{:.0f} kB", b / 1e3);
}

std::string MemoryEstimate::describe() const {
  return fmt::format("weights {}, gradients {}, optimizer {}, copies {}, activations {}, batch {}, data {}",
                     bytes_text(double(weights)), bytes_text(double(gradients)), bytes_text(double(optimizer)),
                     bytes_text(double(copies)), bytes_text(double(activations)), bytes_text(double(batch)),
                     bytes_text(double(data)));
}

MemoryEstimate estimate_memory(const Recipe& r, std::size_t examples, int features, int cores) {
  constexpr double F = sizeof(float);
  double params = 0, widths = 0;
  for (std::size_t l = 0; l + 1 < r.layers.size(); ++l) {
    params += double(r.layers[l]) * r.layers[l + 1] + r.layers[l + 1];
    widths += r.layers[l + 1];
  }
  MemoryEstimate m;
  const auto bytes = [](double v) {
    return v >= double(std::numeric_limits<std::size_t>::max()) ? std::numeric_limits<std::size_t>::max()
                                                                : static_cast<std::size_t>(v);
  };
  m.weights = bytes(params * F);
  m.gradients = m.weights;
  const bool adam = r.optimizer == "adam" || r.optimizer == "adamw";
  m.optimizer = bytes(params * F * (adam ? 2 : r.optimizer == "sgd" ? 0 : 1));  // buffers of the parameter size
  // A save or a checkpoint holds each array again as the file's bytes, and the file whole:
  // measured at about 4 times the weights, and 3 times the optimizer's buffers, at its peak.
  // Early stopping keeps a copy of the weights.
  m.copies = bytes(params * F * (4 + (r.early_stop > 0 ? 1 : 0)) + 3 * double(m.optimizer));
  const std::size_t rows = std::min<std::size_t>(r.batch == 0 ? std::max<std::size_t>(examples, 1) : r.batch, kChunk);
  // Z, A, dZ for each layer (and a mask and its product under dropout), and the second part of
  // layer 1's sum (nn/network.hpp), for a step's rows
  m.activations = bytes(double(rows) * (widths * 5 + (r.layers.size() > 1 ? r.layers[1] : 0)) * F);
  m.batch = bytes(double(rows) * features * F * std::max(cores, 1));
  m.data = bytes(double(examples) * (features + 1));
  return m;
}

std::size_t available_memory() {
  std::size_t available = std::numeric_limits<std::size_t>::max();
  {
    std::ifstream in("/proc/meminfo");
    std::string key;
    std::size_t kb = 0;
    std::string unit;
    while (in >> key >> kb >> unit)
      if (key == "MemAvailable:") available = kb * 1024;
  }
  // cgroup v2: memory.max minus memory.current; v1: limit_in_bytes minus usage_in_bytes
  const auto number = [](const char* path) -> std::optional<std::size_t> {
    std::ifstream in(path);
    std::string text;
    if (!(in >> text) || text == "max") return std::nullopt;
    try {
      return static_cast<std::size_t>(std::stoull(text));
    } catch (...) {
      return std::nullopt;
    }
  };
  for (const auto& [limit, used] :
       {std::pair{"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"},
        {"/sys/fs/cgroup/memory/memory.limit_in_bytes", "/sys/fs/cgroup/memory/memory.usage_in_bytes"}}) {
    const auto l = number(limit), u = number(used);
    if (l && u && *l > *u) available = std::min(available, *l - *u);
  }
  return available;
}

void check_memory(const Recipe& r, std::size_t examples, int features, int cores, std::size_t available) {
  const MemoryEstimate m = estimate_memory(r, examples, features, cores);
  if (m.total() <= available) return;
  // Named for what weighs most: the network, a step's rows, or the data.
  const std::size_t network = m.weights + m.gradients + m.optimizer + m.copies;
  const char* setting = network >= m.activations + m.batch && network >= m.data ? "layers"
                        : m.activations + m.batch >= m.data                     ? "batch"
                                                                                : "data";
  throw SettingError(setting, fmt::format("this run needs about {} ({}), more than the {} this machine has free",
                                          bytes_text(double(m.total())), m.describe(), bytes_text(double(available))));
}

}  // namespace digitnet
