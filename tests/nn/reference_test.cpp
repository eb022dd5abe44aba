// The whole forward pass, loss, backward pass and SGD step against PyTorch (float64),
// in the double build (to 1e-9) and the float build (to 1e-4): tests/data/reference.
#include <fstream>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "digitnet/core/error.hpp"
#include "digitnet/data/npz.hpp"
#include "digitnet/nn/network.hpp"
#include "digitnet/train/sgd.hpp"
#include "test_support.hpp"

namespace digitnet {
namespace {

struct Case {
  std::string name;
  Architecture arch;
  double lr;
};

std::vector<Case> load_cases() {
  std::ifstream in(test::reference_path("cases.json"));
  const auto j = nlohmann::json::parse(in);
  std::vector<Case> cases;
  for (const auto& [name, c] : j.items())
    cases.push_back({name,
                     {c["sizes"].get<std::vector<int>>(), parse_activation(c["hidden_activation"].get<std::string>()),
                      parse_loss(c["loss"].get<std::string>())},
                     c["lr"].get<double>()});
  return cases;
}

template <class T>
std::vector<double> as_doubles(const Tensor<T>& t) {
  return {t.storage.begin(), t.storage.end()};
}
template <class T>
std::vector<double> as_doubles(const std::vector<T>& v) {
  return {v.begin(), v.end()};
}
template <class T>
std::vector<double> as_doubles(Matrix<const T> m) {
  std::vector<double> v;
  for (int r = 0; r < m.rows; ++r)
    for (int c = 0; c < m.cols; ++c) v.push_back(m(r, c));
  return v;
}

template <class T>
void check_case(const Case& c, double tol) {
  SCOPED_TRACE(c.name);
  const NpzArchive ref = read_npz(test::reference_path(c.name + ".npz"));
  Network<T> net(c.arch);
  for (int l = 0; l < c.arch.depth(); ++l) {
    const auto w = ref.at(fmt::format("w{}", l + 1)).to_doubles();
    const auto b = ref.at(fmt::format("b{}", l + 1)).to_doubles();
    net.layers[l].set_W(std::vector<T>(w.begin(), w.end()));
    net.layers[l].set_b(std::vector<T>(b.begin(), b.end()));
  }
  const NpyArray& xa = ref.at("x");
  const auto xd = xa.to_doubles();
  Tensor<T> X(static_cast<int>(xa.shape[0]), static_cast<int>(xa.shape[1]));
  X.storage.assign(xd.begin(), xd.end());
  const auto yd = ref.at("y").to_doubles();
  const std::vector<int> y(yd.begin(), yd.end());

  const T loss = net.forward_backward(X.view(), y);
  EXPECT_LE(test::rel_error(as_doubles(net.logits()), ref.at("logits").to_doubles()), tol) << "logits";
  EXPECT_LE(test::rel_error(as_doubles(net.output()), ref.at("output").to_doubles()), tol) << "output";
  const double ref_loss = ref.at("loss").to_doubles()[0];
  EXPECT_NEAR(loss, ref_loss, tol * std::abs(ref_loss)) << "loss";
  for (int l = 0; l < c.arch.depth(); ++l) {
    EXPECT_LE(test::rel_error(as_doubles(net.layers[l].dW()), ref.at(fmt::format("dw{}", l + 1)).to_doubles()), tol)
        << "dw" << l + 1;
    EXPECT_LE(
        test::rel_error(as_doubles(Matrix<const T>(net.layers[l].db)), ref.at(fmt::format("db{}", l + 1)).to_doubles()),
        tol)
        << "db" << l + 1;
  }
  for (auto& layer : net.layers) sgd_step(layer, static_cast<T>(c.lr));
  for (int l = 0; l < c.arch.depth(); ++l) {
    EXPECT_LE(test::rel_error(as_doubles(net.layers[l].W()), ref.at(fmt::format("w{}_after_sgd", l + 1)).to_doubles()),
              tol);
    EXPECT_LE(test::rel_error(as_doubles(Matrix<const T>(net.layers[l].b)),
                              ref.at(fmt::format("b{}_after_sgd", l + 1)).to_doubles()),
              tol);
  }
}

TEST(Reference, EveryCaseIsListed) { EXPECT_EQ(load_cases().size(), 5u); }

TEST(Reference, DoubleMatchesPyTorchTo1e9) {
  for (const auto& c : load_cases()) check_case<double>(c, 1e-9);
}

TEST(Reference, FloatMatchesPyTorchTo1e4) {
  for (const auto& c : load_cases()) check_case<float>(c, 1e-4);
}

TEST(Reference, CompressedNpzReadsTheSameAsStored) {
  const NpzArchive a = read_npz(test::reference_path("relu_ce_64_32_10.npz"));
  const NpzArchive b = read_npz(test::reference_path("relu_ce_64_32_10_compressed.npz"));
  ASSERT_EQ(a.size(), b.size());
  for (const auto& [k, v] : a) {
    EXPECT_EQ(v.descr, b.at(k).descr) << k;
    EXPECT_EQ(v.shape, b.at(k).shape) << k;
    EXPECT_EQ(v.data, b.at(k).data) << k;
  }
}

// torch.nn.CrossEntropyLoss(label_smoothing=0.2) on these logits, in float64 (values printed
// by PyTorch 2 with Z.grad after backward()).
TEST(Reference, LabelSmoothingMatchesPyTorch) {
  Tensor<double> Z(3, 4);
  Z.storage = {1.0, -2.0, 0.5, 3.0, 0.2, 0.1, -0.3, -1.5, 2.5, 2.4, -4.0, 0.0};
  const std::vector<int> y{3, 0, 1};
  Tensor<double> P(3, 4), dZ(3, 4);
  const double loss = loss_forward<double>(Loss::cross_entropy, Z.view(), y, P.view(), 0.2);
  loss_backward<double>(Loss::cross_entropy, P.view(), y, dZ.view(), 3, 0.2);
  EXPECT_NEAR(loss, 1.0018809927757402, 1e-14);
  const std::vector<double> torch_grad{0.020184583453913073,  -0.01483195095747211, 0.005684746380203827,
                                       -0.011037378876644776, -0.15960395372142977, 0.09528830571655926,
                                       0.05837899557517606,   0.005936652429694452, 0.15097012620251812,
                                       -0.13164929050575122,  -0.01641463494208207, -0.0029062007546848236};
  for (std::size_t i = 0; i < torch_grad.size(); ++i) EXPECT_NEAR(dZ.storage[i], torch_grad[i], 1e-15) << i;
  Network<double> ce({{4, 3, 4}, Activation::relu, Loss::cross_entropy}), mse({{4, 3, 4}, Activation::relu, Loss::mse});
  EXPECT_THROW(ce.set_label_smoothing(1.0), SettingError);
  EXPECT_THROW(mse.set_label_smoothing(0.1), SettingError);
}

}  // namespace
}  // namespace digitnet
