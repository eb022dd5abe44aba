// digitnet's side of bench/run.sh: the seed network (784-128-64-10 ReLU, softmax + CE)
// trained and run on real data, timed, as one JSON object on stdout.
//   digitnet_bench DATA_DIR EPOCHS THREADS [--plain]
//   digitnet_bench DATA_DIR EPOCHS THREADS --rows one|split
//   digitnet_bench DATA_DIR EPOCHS THREADS --ahead on|off
// --rows keeps a training step's per-example phase on one core, or splits it by rows, whatever
// its size (src/kernels/split.hpp, kRowSplitWork); --ahead turns the look-ahead of a fused step
// (the next step's first layer in its last hand-off) on or off; bench/ab.py times either
// against the other.
//   digitnet_bench DATA_DIR EPOCHS THREADS --serving DIR
// That one trains the seed network (batch 32) and times serving it, float32 and int8, and
// writes what ONNX Runtime's side of the comparison needs (bench/onnx_bench.mjs) into DIR:
// model.onnx, test.f32 (the test images' pixels as float32), and each precision's probabilities.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <numeric>
#include <string>
#include <thread>

#include <fmt/format.h>
#include <sys/resource.h>
#include <nlohmann/json.hpp>

#include "digitnet/core/parallel.hpp"
#include "digitnet/data/load.hpp"
#include "digitnet/data/model.hpp"
#include "digitnet/data/onnx.hpp"
#include "digitnet/train/metrics.hpp"
#include "digitnet/train/quantize.hpp"
#include "digitnet/train/trainer.hpp"
#include "kernels/gemm.hpp"
#include "kernels/qgemm.hpp"
#include "kernels/split.hpp"
#include "peak.hpp"

using namespace digitnet;
using Clock = std::chrono::steady_clock;

namespace {

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// The seed network's recipe (784-128-64-10 ReLU, He init, plain SGD).
Recipe seed_recipe(int batch, int epochs, double lr) { return {.lr = lr, .batch = batch, .epochs = epochs, .seed = 1}; }

Network<float> seed_network() { return new_network(seed_recipe(32, 1, 0.32)); }

// Per-epoch seconds of training with this batch size (0 = full batch).
nlohmann::json train(const DataSplit& data, const Normalizer& norm, int batch, int epochs, double lr) {
  Network<float> net = seed_network();
  Trainer trainer(net, norm, seed_recipe(batch, epochs, lr));
  std::vector<double> secs;
  for (int e = 0; e < epochs; ++e) secs.push_back(trainer.train_epoch(data.train).seconds);
  const double acc = trainer.accuracy(data.test);
  std::vector<float> w1 = net.layers[0].W();
  return {{"batch", batch},
          {"epoch_seconds", secs},
          {"test_accuracy", acc},
          {"w1_checksum", std::accumulate(w1.begin(), w1.end(), 0.0)}};
}

void write_floats(const std::string& path, std::span<const float> v) {
  std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(v.data()), std::streamsize(v.size() * 4));
}

// Serving a trained seed network: all 10,000 test images at once, one at a time back to back,
// and one at a time with a pause before each (as requests come: the pool's threads have gone to
// sleep), for each precision; same-run figures for bench/onnx_bench.mjs to set ONNX Runtime against.
nlohmann::json serving(const DataSplit& data, const Normalizer& norm, int epochs, const std::string& dir) {
  Network<float> net = seed_network();
  Trainer trainer(net, norm, seed_recipe(32, epochs, 0.32));
  for (int e = 0; e < epochs; ++e) trainer.train_epoch(data.train);
  Model model{net, norm, 28, 28, nlohmann::json::object()};
  save_onnx(dir + "/model.onnx", net, norm);
  const Dataset& test = data.test;
  {
    std::vector<float> pixels(test.size() * test.features());
    for (std::size_t i = 0; i < pixels.size(); ++i) pixels[i] = test.image(0)[i];
    write_floats(dir + "/test.f32", pixels);
  }
  QuantizedNetwork q(net, norm);
  nlohmann::json out = {
      {"name", fmt::format("digitnet ({}; int8: {}, {} threads)", simd_target(), int8_kernel_name(), threads())},
      {"epochs", epochs}};
  std::vector<std::vector<float>> x01(test.size(), std::vector<float>(test.features()));
  for (std::size_t i = 0; i < test.size(); ++i)
    for (int f = 0; f < test.features(); ++f) x01[i][f] = test.image(i)[f] / 255.0f;
  for (const char* precision : {"float32", "int8"}) {
    const bool int8 = std::string(precision) == "int8";
    const auto all = [&] { return int8 ? predict_dataset(q, test) : predict_dataset(net, norm, test); };
    const auto one = [&](std::size_t i) { return int8 ? predict_one(q, x01[i]) : predict_one(model, x01[i]); };
    nlohmann::json r;
    Predictions p = all();
    double best = 1e9;
    for (int rep = 0; rep < 7; ++rep) {
      const auto t = Clock::now();
      p = all();
      best = std::min(best, seconds_since(t));
    }
    r["batch10000_seconds"] = best;
    r["accuracy"] = compute_metrics(test.labels, p.label, 10).accuracy;
    write_floats(dir + "/" + precision + ".f32", p.probs.storage);
    std::size_t sink = 0;
    auto t = Clock::now();
    for (std::size_t i = 0; i < test.size(); ++i) sink += argmax(one(i));
    r["batch1_seconds"] = seconds_since(t);
    // Requests that come 2 ms apart: each one's latency.
    std::vector<double> lat;
    for (std::size_t i = 0; i < 300; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
      t = Clock::now();
      sink += argmax(one(i));
      lat.push_back(seconds_since(t) * 1e6);
    }
    const double first = lat[0];
    std::sort(lat.begin(), lat.end());
    r["latency_us"] = {{"median", lat[lat.size() / 2]}, {"p90", lat[lat.size() * 9 / 10]}, {"first", first}};
    r["sink"] = sink;
    out[precision] = r;
  }
  return out;
}

}  // namespace

// A measuring switch given as `FLAG yes|no` after THREADS: 1 for `yes`, 0 for `no`, -1 when
// FLAG is not given. Any other value ends the program with a line naming the flag.
static int two_way(int argc, char** argv, const char* flag, const char* yes, const char* no) {
  if (argc <= 5 || std::strcmp(argv[4], flag) != 0) return -1;
  if (std::strcmp(argv[5], yes) == 0) return 1;
  if (std::strcmp(argv[5], no) == 0) return 0;
  std::fprintf(stderr, "digitnet_bench: %s is %s or %s, not %s\n", flag, yes, no, argv[5]);
  std::exit(2);
}

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr,
                 "usage: digitnet_bench DATA_DIR EPOCHS THREADS [--plain | --rows one|split | --ahead on|off]\n");
    return 2;
  }
  const std::string dir = argv[1];
  const int epochs = std::stoi(argv[2]);
  const int threads = set_threads(std::stoi(argv[3]));
  const bool plain = argc > 4 && std::strcmp(argv[4], "--plain") == 0;
  use_plain_kernels(plain);
  if (const int one = two_way(argc, argv, "--rows", "one", "split"); one >= 0) use_step_rows_way(one ? 1 : 2);
  if (const int on = two_way(argc, argv, "--ahead", "on", "off"); on >= 0) use_first_layer_ahead(on == 1);
  const DataSplit data = load_data(dir, {}, 1);
  const Normalizer norm = Normalizer::fit(Normalizer::scale, data.train);
  if (argc > 5 && std::strcmp(argv[4], "--serving") == 0) {
    std::printf("%s\n", serving(data, norm, epochs, argv[5]).dump().c_str());
    return 0;
  }

  nlohmann::json out = {{"name", fmt::format("digitnet ({}, {} threads)", simd_target(), threads)},
                        {"simd", simd_target()},
                        {"threads", threads}};
  out["fma_peak_gflops"] = digitnet_bench::measure_fma_peak(threads);
  out["fma_peak_gflops_1thread"] = digitnet_bench::measure_fma_peak(1);
  const nlohmann::json b32 = train(data, norm, 32, epochs, 0.32);
  out["epoch_seconds"] = b32["epoch_seconds"];
  out["test_accuracy"] = b32["test_accuracy"];
  out["w1_checksum"] = b32["w1_checksum"];
  if (!plain) {
    // The same batch-32 training with every term computed, as a dense product does: digitnet
    // normally leaves out terms whose input is zero; this shows the arithmetic rate alone.
    use_zero_skipping(false);
    out["every_term"] = train(data, norm, 32, std::max(2, epochs / 2), 0.32);
    use_zero_skipping(true);
    out["batch128"] = train(data, norm, 128, std::max(2, epochs / 2), 0.5);
    out["full_batch"] = train(data, norm, 0, std::max(2, epochs / 2), 0.5);
  }

  // Inference over the test set: one image at a time (normalise, forward, softmax), then at once.
  Network<float> net = seed_network();
  const Dataset& test = data.test;
  Tensor<float> x(1, 784);
  std::size_t sink = 0;
  const auto one_at_a_time = [&] {
    const auto t = Clock::now();
    for (std::size_t i = 0; i < test.size(); ++i) {
      const std::size_t idx[1] = {i};
      norm.gather(test, idx, x.view());
      const auto p = net.forward(x.view());
      sink += argmax({p.row(0), 10});
    }
    return seconds_since(t);
  };
  const auto all_at_once = [&] {
    double best = 1e9;
    for (int rep = 0; rep < 5; ++rep) {
      const auto t = Clock::now();
      sink += predict_dataset(net, norm, test).label[0];  // one call; 128-row blocks, shared by the cores
      best = std::min(best, seconds_since(t));
    }
    return best;
  };
  out["infer_batch1_seconds"] = one_at_a_time();
  out["infer_batch10000_seconds"] = all_at_once();
  if (!plain) {
    use_zero_skipping(false);
    out["every_term"]["infer_batch1_seconds"] = one_at_a_time();
    out["every_term"]["infer_batch10000_seconds"] = all_at_once();
    use_zero_skipping(true);
  }
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  out["peak_rss_mb"] = ru.ru_maxrss / 1024.0;
  out["sink"] = sink;
  std::printf("%s\n", out.dump().c_str());
}
