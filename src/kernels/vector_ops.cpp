#include "kernels/vector_ops.hpp"

#include <algorithm>

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "src/kernels/vector_ops.cpp"
#include <hwy/foreach_target.h>  // must come before highway.h
#include <hwy/highway.h>

#include "kernels/split.hpp"

HWY_BEFORE_NAMESPACE();
namespace digitnet {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

static void BytesToFloatsKernel(std::size_t n, const std::uint8_t* HWY_RESTRICT src, float scale,
                                float* HWY_RESTRICT dst) {
  const hn::ScalableTag<float> d;
  const hn::RebindToSigned<decltype(d)> di;
  const hn::Rebind<std::uint8_t, decltype(d)> du8;
  const std::size_t L = hn::Lanes(d);
  const auto s = hn::Set(d, scale);
  std::size_t i = 0;
  for (; i + L <= n; i += L)
    hn::StoreU(hn::Mul(hn::ConvertTo(d, hn::PromoteTo(di, hn::LoadU(du8, src + i))), s), d, dst + i);
  for (; i < n; ++i) dst[i] = static_cast<float>(src[i]) * scale;
}

static void ReluForwardKernel(std::size_t n, const float* HWY_RESTRICT z, float* HWY_RESTRICT a) {
  const hn::ScalableTag<float> d;
  const std::size_t L = hn::Lanes(d);
  std::size_t i = 0;
  for (; i + L <= n; i += L) hn::StoreU(hn::Max(hn::LoadU(d, z + i), hn::Zero(d)), d, a + i);
  for (; i < n; ++i) a[i] = z[i] > 0.0f ? z[i] : 0.0f;
}

static void ReluBackwardKernel(std::size_t n, const float* HWY_RESTRICT z, const float* da, float* dz) {
  const hn::ScalableTag<float> d;
  const std::size_t L = hn::Lanes(d);
  std::size_t i = 0;
  for (; i + L <= n; i += L) {
    const auto zv = hn::LoadU(d, z + i);
    hn::StoreU(hn::IfThenElseZero(hn::Gt(zv, hn::Zero(d)), hn::LoadU(d, da + i)), d, dz + i);
  }
  for (; i < n; ++i) dz[i] = z[i] > 0.0f ? da[i] : 0.0f;
}

// Adam/AdamW on n parameters; see optimizer.hpp for the formulas.
static void AdamKernel(std::size_t n, float* HWY_RESTRICT p, const float* HWY_RESTRICT g, float* HWY_RESTRICT m,
                       float* HWY_RESTRICT v, const AdamStep& s) {
  const hn::ScalableTag<float> d;
  const hn::CappedTag<float, 1> d1;
  const auto body = [&](auto tag, std::size_t i) {
    const auto decay = hn::Set(tag, s.decay), wd = hn::Set(tag, s.coupled_wd), b1 = hn::Set(tag, s.beta1),
               c1 = hn::Set(tag, 1 - s.beta1), b2 = hn::Set(tag, s.beta2), c2 = hn::Set(tag, 1 - s.beta2),
               step = hn::Set(tag, s.step), root2 = hn::Set(tag, s.root2), eps = hn::Set(tag, s.eps);
    auto pv = hn::Mul(hn::LoadU(tag, p + i), decay);
    const auto gv = hn::MulAdd(wd, pv, hn::LoadU(tag, g + i));
    const auto mv = hn::MulAdd(b1, hn::LoadU(tag, m + i), hn::Mul(c1, gv));
    const auto vv = hn::MulAdd(b2, hn::LoadU(tag, v + i), hn::Mul(c2, hn::Mul(gv, gv)));
    pv = hn::Sub(pv, hn::Div(hn::Mul(step, mv), hn::Add(hn::Div(hn::Sqrt(vv), root2), eps)));
    hn::StoreU(mv, tag, m + i);
    hn::StoreU(vv, tag, v + i);
    hn::StoreU(pv, tag, p + i);
  };
  std::size_t i = 0;
  for (; i + hn::Lanes(d) <= n; i += hn::Lanes(d)) body(d, i);
  for (; i < n; ++i) body(d1, i);
}

// SGD with momentum (nesterov optional) and coupled weight decay, PyTorch's formulas.
static void MomentumKernel(std::size_t n, float* HWY_RESTRICT p, const float* HWY_RESTRICT g, float* HWY_RESTRICT buf,
                           const MomentumStep& s) {
  const hn::ScalableTag<float> d;
  const hn::CappedTag<float, 1> d1;
  const auto body = [&](auto tag, std::size_t i) {
    const auto wd = hn::Set(tag, s.wd), mu = hn::Set(tag, s.mu), lr = hn::Set(tag, s.lr);
    const auto pv = hn::LoadU(tag, p + i);
    const auto gv = hn::MulAdd(wd, pv, hn::LoadU(tag, g + i));
    const auto bv = s.first ? gv : hn::MulAdd(mu, hn::LoadU(tag, buf + i), gv);
    const auto dir = s.nesterov ? hn::MulAdd(mu, bv, gv) : bv;
    hn::StoreU(bv, tag, buf + i);
    hn::StoreU(hn::NegMulAdd(lr, dir, pv), tag, p + i);
  };
  std::size_t i = 0;
  for (; i + hn::Lanes(d) <= n; i += hn::Lanes(d)) body(d, i);
  for (; i < n; ++i) body(d1, i);
}

}  // namespace HWY_NAMESPACE
}  // namespace digitnet
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace digitnet {
HWY_EXPORT(BytesToFloatsKernel);
HWY_EXPORT(ReluForwardKernel);
HWY_EXPORT(ReluBackwardKernel);
HWY_EXPORT(AdamKernel);
HWY_EXPORT(MomentumKernel);

namespace {
// An optimizer's update of n parameters, split between cores in whole cache lines (16 floats).
template <class F>
void split(std::size_t n, F&& f) {
  const int tasks = cores_for(double(n) * cost::kUpdate, static_cast<long>(n / kColumnGrain));
  if (tasks <= 1) return f(std::size_t(0), n);
  run_parallel(tasks, [&](int t) {
    const auto [b, e] = block_share(static_cast<int>(n), kColumnGrain, t, tasks);
    f(std::size_t(b), std::size_t(e));
  });
}
}  // namespace

void adam_update(std::size_t n, float* p, const float* g, float* m, float* v, const AdamStep& s) {
  split(n, [&](std::size_t b, std::size_t e) {
    HWY_DYNAMIC_DISPATCH(AdamKernel)(e - b, p + b, g + b, m + b, v + b, s);
  });
}

void momentum_update(std::size_t n, float* p, const float* g, float* buf, const MomentumStep& s) {
  split(n, [&](std::size_t b, std::size_t e) {
    HWY_DYNAMIC_DISPATCH(MomentumKernel)(e - b, p + b, g + b, buf + b, s);
  });
}

void bytes_to_floats(std::size_t n, const std::uint8_t* src, float scale, float* dst) {
  HWY_DYNAMIC_DISPATCH(BytesToFloatsKernel)(n, src, scale, dst);
}
void relu_forward(std::size_t n, const float* z, float* a) { HWY_DYNAMIC_DISPATCH(ReluForwardKernel)(n, z, a); }
void relu_backward(std::size_t n, const float* z, const float* da, float* dz) {
  HWY_DYNAMIC_DISPATCH(ReluBackwardKernel)(n, z, da, dz);
}

}  // namespace digitnet
#endif
