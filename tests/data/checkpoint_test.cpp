// Checkpoint files: what a trainer's position and the optimizer hold, back bit for bit; and
// every value of a file checked before it is trusted.
#include <gtest/gtest.h>

#include "digitnet/core/error.hpp"
#include "digitnet/data/checkpoint.hpp"
#include "digitnet/data/npz.hpp"
#include "test_support.hpp"

namespace digitnet {
namespace {

struct Trained {
  Recipe recipe{
      .layers = {16, 8, 10}, .optimizer = "adam", .lr = 0.01, .val = 0.2, .batch = 8, .epochs = 4, .early_stop = 3};
  Dataset train = test::synthetic(80, 4, 4, 1), val = test::synthetic(20, 4, 4, 2);
  Normalizer norm = Normalizer::fit(Normalizer::scale, train);
  Network<float> net = new_network(recipe);
  Trainer trainer{net, norm, recipe};
  Trained() {
    trainer.fit(train, nullptr, {}, {}, &val, [n = 0](bool epoch_end) mutable { return !epoch_end && ++n == 13; });
  }
};

TEST(Checkpoint, RoundTripsEveryPartOfTheState) {
  const test::TempDir dir;
  Trained t;
  const nlohmann::json run = {{"recipe", recipe_json(t.recipe)}};
  save_checkpoint(dir.file("a.ckpt"), run, t.net, t.trainer.position(), t.trainer.optimizer_state());
  const Checkpoint c = read_checkpoint(dir.file("a.ckpt"));
  const TrainerState s = t.trainer.state();
  EXPECT_EQ(c.run, run);
  EXPECT_EQ(c.layers, t.recipe.layers);
  EXPECT_TRUE(
      std::equal(c.params.parameters().begin(), c.params.parameters().end(), t.net.layers.parameters().begin()));
  EXPECT_EQ(c.state.epoch, s.epoch);
  EXPECT_EQ(c.state.batch, s.batch);
  EXPECT_GT(c.state.batch, 0u);  // stopped mid-epoch: its order is kept
  EXPECT_EQ(c.state.order, s.order);
  EXPECT_EQ(c.state.loss_sum, s.loss_sum);
  EXPECT_EQ(c.state.correct, s.correct);
  EXPECT_EQ(c.state.shuffle_rng, s.shuffle_rng);
  EXPECT_EQ(c.state.first_loss, s.first_loss);
  EXPECT_EQ(c.state.best_epoch, s.best_epoch);
  EXPECT_EQ(c.state.best_parameters, s.best_parameters);
  EXPECT_EQ(c.state.history.size(), s.history.size());
  EXPECT_EQ(c.state.optimizer.t, s.optimizer.t);
  EXPECT_EQ(c.state.optimizer.m, s.optimizer.m);
  EXPECT_EQ(c.state.optimizer.v, s.optimizer.v);
}

TEST(Checkpoint, BadFilesAreRefusedNamingTheFile) {
  const test::TempDir dir;
  Trained t;
  save_checkpoint(dir.file("a.ckpt"), {{"x", 1}}, t.net, t.trainer.position(), t.trainer.optimizer_state());
  const NpzArchive good = read_npz(dir.file("a.ckpt"));
  const auto refused = [&](NpzArchive npz, const std::string& needle) {
    const Bytes bytes = serialize_npz(npz);
    try {
      parse_checkpoint(bytes, "x.ckpt");
      ADD_FAILURE() << "accepted; expected " << needle;
    } catch (const Error& e) {
      EXPECT_EQ(std::string(e.what()).rfind("x.ckpt: ", 0), 0u) << e.what();
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  const auto with_doc = [&](const std::function<void(nlohmann::json&)>& edit) {
    NpzArchive npz = good;
    nlohmann::json doc = nlohmann::json::parse(npz.at("checkpoint").to_string());
    edit(doc);
    npz["checkpoint"] = NpyArray::from_string(doc.dump());
    return npz;
  };
  refused(with_doc([](auto& d) { d["format_version"] = 1; }), "older digitnet (checkpoint format 1)");
  refused(with_doc([](auto& d) { d["format_version"] = 99; }), "newer digitnet");
  refused(with_doc([](auto& d) {
            d["layers"] = {16, 1000000, 10};
          }),
          "does not have the shape of the checkpoint's layers");
  refused(with_doc([](auto& d) { d["state"]["epoch"] = -1; }), "'epoch' is out of range");
  refused(with_doc([](auto& d) { d["state"]["shuffle_rng"] = {0, 0, 0, 0}; }), "all-zero generator state");
  NpzArchive no_opt = good;
  no_opt.erase("opt_m");
  refused(no_opt, "missing array 'opt_m'");
  NpzArchive nan = good;
  std::vector<float> w = nan.at("w1").to_floats();
  w[3] = NAN;
  nan["w1"] = NpyArray::from_floats(w, nan.at("w1").shape);
  refused(nan, "'w1' holds nan or inf");
  NpzArchive deep = good;
  deep["checkpoint"] = NpyArray::from_string(std::string(10'000, '['));
  refused(deep, "nested 10000 deep");
}

}  // namespace
}  // namespace digitnet
