#pragma once
// Checkpoint files: a training run stopped (killed, interrupted, or between epochs) and the
// state to go on from, bit for bit. An .npz (so every member is CRC-checked when read):
//   w1, b1, ...                   the network's weights, float32, as in a model file
//   opt_m, opt_v                  the optimizer's buffers, laid out as the network's parameter
//                                 buffer (nn/dense.hpp: DenseLayers)
//   gamma1, beta1, mean1, var1    batch normalization's of each hidden layer (when it has it)
//   best_w1, best_b1, ...         early stopping's best weights so far (when there are any)
//   ema                           the moving average of the trainable parameters (when kept)
//   order                         the current epoch's order of the examples (mid-epoch only)
//   checkpoint                    JSON: format, the run (its recipe and data, the command's),
//                                 and the trainer's position: epoch, batch, sums, history, generator
#include <span>
#include <string>

#include <nlohmann/json.hpp>

#include "digitnet/nn/network.hpp"
#include "digitnet/train/trainer.hpp"

namespace digitnet {

constexpr int kCheckpointFormatVersion = 2;

struct Checkpoint {
  nlohmann::json run;         // what was being trained, and how (written by the caller)
  std::vector<int> layers;    // the network's sizes
  bool batch_norm = false;    // and whether its hidden layers are normalized
  DenseLayers<float> params;  // its weights and biases
  TrainerState state;
};

// Written durably and atomically (data/file.hpp): a kill at any moment leaves the previous
// checkpoint or this one, whole.
// `position` is Trainer::position() (its optimizer field unused), `optimizer` the optimizer's.
void save_checkpoint(const std::string& path, const nlohmann::json& run, const Network<float>& net,
                     const TrainerState& position, const OptimizerState<float>& optimizer);
// Every value is checked (shapes, ranges, finite numbers); errors name the file.
Checkpoint parse_checkpoint(std::span<const std::uint8_t> bytes, const std::string& what);
Checkpoint read_checkpoint(const std::string& path);

}  // namespace digitnet
