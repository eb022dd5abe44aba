// The elementwise kernels (SIMD, split between cores) against their definitions in plain
// loops: the same values, bit for bit, on every SIMD target and for any core count.
#include <cmath>
#include <cstring>

#include <gtest/gtest.h>

#include "digitnet/core/parallel.hpp"
#include "digitnet/core/rng.hpp"
#include "kernels/gemm.hpp"
#include "kernels/vector_ops.hpp"

namespace digitnet {
namespace {

std::vector<float> random(std::size_t n, std::uint64_t seed, float lo = -1, float hi = 1) {
  Rng rng(seed);
  std::vector<float> v(n);
  for (float& x : v) x = lo + (hi - lo) * static_cast<float>(rng.uniform());
  return v;
}

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

// Whether the target computes a*b+c with one rounding (AVX2 and up; not SSE4 or the scalar one).
bool fused(const std::string& target) {
  return target != "SSE4" && target != "SSSE3" && target != "SSE2" && target != "SCALAR" && target != "EMU128";
}

// Each test runs on every target this CPU has, with 1 to 3 threads, and n long enough to be split.
template <class F>
void on_every_target(F&& check) {
  for (const auto& [target, name] : simd_targets()) {
    force_simd_target(target);
    for (int threads : {1, 2, 3}) {
      set_threads(threads);
      SCOPED_TRACE(testing::Message() << name << ", " << threads << " threads");
      check(name);
    }
  }
  force_simd_target(0);
  set_threads(0);
}

TEST(VectorOps, AdamEqualsItsDefinition) {
  const std::size_t n = 100'003;
  const AdamStep s{0.999f, 0.01f, 0.9f, 0.999f, 0.0123f, 0.05f, 1e-8f};
  const auto p0 = random(n, 1), g = random(n, 2), m0 = random(n, 3), v0 = random(n, 4, 0, 1);
  std::vector<float> p = p0, m = m0, v = v0;
  for (std::size_t i = 0; i < n; ++i) {  // optimizer.hpp's formulas, in the kernel's order
    const float pd = p[i] * s.decay;
    const float gi = std::fma(s.coupled_wd, pd, g[i]);
    m[i] = std::fma(s.beta1, m[i], (1 - s.beta1) * gi);
    v[i] = std::fma(s.beta2, v[i], (1 - s.beta2) * (gi * gi));
    p[i] = pd - s.step * m[i] / (std::sqrt(v[i]) / s.root2 + s.eps);
  }
  on_every_target([&](const std::string& target) {
    std::vector<float> pk = p0, mk = m0, vk = v0;
    adam_update(n, pk.data(), g.data(), mk.data(), vk.data(), s);
    if (fused(target)) {
      EXPECT_TRUE(same_bits(pk, p) && same_bits(mk, m) && same_bits(vk, v));
    } else {
      for (std::size_t i = 0; i < n; i += 997) EXPECT_NEAR(pk[i], p[i], 1e-5f);
    }
  });
}

TEST(VectorOps, MomentumAndNesterovEqualTheirDefinition) {
  const std::size_t n = 70'001;
  const auto p0 = random(n, 5), g = random(n, 6), b0 = random(n, 7);
  for (const bool nesterov : {false, true})
    for (const bool first : {false, true}) {
      const MomentumStep s{0.05f, 0.9f, 0.001f, nesterov, first};
      std::vector<float> p = p0, b = b0;
      for (std::size_t i = 0; i < n; ++i) {
        const float gi = std::fma(s.wd, p[i], g[i]);
        b[i] = first ? gi : std::fma(s.mu, b[i], gi);
        const float dir = nesterov ? std::fma(s.mu, b[i], gi) : b[i];
        p[i] = std::fma(-s.lr, dir, p[i]);
      }
      on_every_target([&](const std::string& target) {
        std::vector<float> pk = p0, bk = b0;
        momentum_update(n, pk.data(), g.data(), bk.data(), s);
        if (fused(target)) EXPECT_TRUE(same_bits(pk, p) && same_bits(bk, b)) << nesterov << first;
        else EXPECT_NEAR(pk[n / 2], p[n / 2], 1e-6f);
      });
    }
}

TEST(VectorOps, BytesToFloatsAndRelu) {
  const std::size_t n = 50'001;
  std::vector<std::uint8_t> bytes(n);
  for (std::size_t i = 0; i < n; ++i) bytes[i] = static_cast<std::uint8_t>(i * 37);
  const auto z = random(n, 8), da = random(n, 9);
  on_every_target([&](const std::string&) {
    std::vector<float> x(n), a(n), dz(n);
    bytes_to_floats(n, bytes.data(), 1.0f / 255, x.data());
    relu_forward(n, z.data(), a.data());
    relu_backward(n, z.data(), da.data(), dz.data());
    for (std::size_t i = 0; i < n; ++i) {
      ASSERT_EQ(x[i], bytes[i] * (1.0f / 255)) << i;
      ASSERT_EQ(a[i], z[i] > 0 ? z[i] : 0.0f) << i;
      ASSERT_EQ(dz[i], z[i] > 0 ? da[i] : 0.0f) << i;
    }
    std::vector<float> in_place = da;  // da and dz may alias
    relu_backward(n, z.data(), in_place.data(), in_place.data());
    EXPECT_TRUE(same_bits(in_place, dz));
  });
}

}  // namespace
}  // namespace digitnet
