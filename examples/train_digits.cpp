// The library in ~30 lines: train the seed-001 MLP on scikit-learn's 8x8 digits,
// evaluate it, save it. Usage: example_train [path/to/digits.csv.gz]
#include <cstdio>

#include "digitnet/core/error.hpp"
#include "digitnet/data/load.hpp"
#include "digitnet/data/model.hpp"
#include "digitnet/train/metrics.hpp"
#include "digitnet/train/trainer.hpp"

int main(int argc, char** argv) {
  using namespace digitnet;
  const std::string path = argc > 1 ? argv[1] : "/usr/lib/python3/dist-packages/sklearn/datasets/data/digits.csv.gz";
  try {
    DataSplit data = load_data(path, parse_split("random:0.2"), /*seed=*/42);
    Normalizer norm = Normalizer::fit(Normalizer::zscore, data.train);

    // The seed's recipe (digitnet presets: digits-relu-32), every other setting at its default.
    const Recipe recipe{.layers = {64, 32, 10},
                        .init = "normal:0.1",
                        .lr = 0.1,
                        .batch = 0,
                        .epochs = 1000,
                        .seed = 42,
                        .report_every = 200};
    Network<float> net = new_network(recipe);  // its initial weights drawn from the seed
    Trainer trainer(net, norm, recipe);
    trainer.fit(data.train, &data.test, [](const EpochReport& r) {
      std::printf("epoch %4d  loss %.4f  test %.2f%%\n", r.epoch, r.loss, 100 * r.test_accuracy.value_or(0));
    });

    Predictions p = predict_dataset(net, norm, data.test);
    Metrics m = compute_metrics(data.test.labels, p.label, 10);
    std::printf("test accuracy %.2f%%\n", 100 * m.accuracy);
    save_model(argc > 2 ? argv[2] : "digits-mlp.npz", net, norm, data.train.height, data.train.width,
               {{"dataset", "digits"}});
  } catch (const Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
