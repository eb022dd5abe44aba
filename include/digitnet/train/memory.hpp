#pragma once
// What a training run will hold in memory, estimated from its recipe and its data before
// anything large is allocated, and what the machine (or the cgroup the process runs in) can
// give it. A run that would not fit is refused with one line instead of being killed, or
// taking the machine down, half-way.
#include <cstddef>
#include <string>

#include "digitnet/train/recipe.hpp"

namespace digitnet {

struct MemoryEstimate {
  std::size_t weights = 0;      // parameters, float32, in the network's buffer
  std::size_t gradients = 0;    // one buffer of the same size
  std::size_t optimizer = 0;    // momentum buffer, or Adam's two moments
  std::size_t copies = 0;       // early stopping's best weights; the transposed copy a save makes
  std::size_t activations = 0;  // Z, A, dZ (and dropout's masks) of a step's rows, per core
  std::size_t batch = 0;        // the batch's inputs: per core when each writes its own
  std::size_t data = 0;         // the examples, as loaded
  std::size_t total() const { return weights + gradients + optimizer + copies + activations + batch + data; }
  std::string describe() const;  // "weights 6.4 GB, gradients 6.4 GB, ..."
};

// `examples` and `features`: the data as loaded (0 before it is: the network alone).
MemoryEstimate estimate_memory(const Recipe& r, std::size_t examples, int features, int cores);

// Bytes this process may still allocate: MemAvailable, or less when a cgroup limit is closer.
std::size_t available_memory();

// Throws SettingError naming the setting that weighs most (layers, batch or data) when the
// run needs more than `available`.
void check_memory(const Recipe& r, std::size_t examples, int features, int cores, std::size_t available);

std::string bytes_text(double bytes);  // "19.3 GB", "512 MB"

}  // namespace digitnet
