#include "digitnet/vector_ops.hpp"

#include <algorithm>

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "src/vector_ops.cpp"
#include <hwy/foreach_target.h>  // must come before highway.h
#include <hwy/highway.h>

#include "digitnet/parallel.hpp"

HWY_BEFORE_NAMESPACE();
namespace digitnet {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

void AxpyKernel(std::size_t n, float alpha, const float* HWY_RESTRICT x, float* HWY_RESTRICT y) {
  const hn::ScalableTag<float> d;
  const hn::CappedTag<float, 1> d1;
  const std::size_t L = hn::Lanes(d);
  const auto a = hn::Set(d, alpha);
  std::size_t i = 0;
  for (; i + L <= n; i += L) hn::StoreU(hn::MulAdd(a, hn::LoadU(d, x + i), hn::LoadU(d, y + i)), d, y + i);
  for (; i < n; ++i) hn::StoreU(hn::MulAdd(hn::Set(d1, alpha), hn::LoadU(d1, x + i), hn::LoadU(d1, y + i)), d1, y + i);
}

void BytesToFloatsKernel(std::size_t n, const std::uint8_t* HWY_RESTRICT src, float scale, float* HWY_RESTRICT dst) {
  const hn::ScalableTag<float> d;
  const hn::RebindToSigned<decltype(d)> di;
  const hn::Rebind<std::uint8_t, decltype(d)> du8;
  const std::size_t L = hn::Lanes(d);
  const auto s = hn::Set(d, scale);
  std::size_t i = 0;
  for (; i + L <= n; i += L) hn::StoreU(hn::Mul(hn::ConvertTo(d, hn::PromoteTo(di, hn::LoadU(du8, src + i))), s), d, dst + i);
  for (; i < n; ++i) dst[i] = static_cast<float>(src[i]) * scale;
}

void ReluForwardKernel(std::size_t n, const float* HWY_RESTRICT z, float* HWY_RESTRICT a) {
  const hn::ScalableTag<float> d;
  const std::size_t L = hn::Lanes(d);
  std::size_t i = 0;
  for (; i + L <= n; i += L) hn::StoreU(hn::Max(hn::LoadU(d, z + i), hn::Zero(d)), d, a + i);
  for (; i < n; ++i) a[i] = z[i] > 0.0f ? z[i] : 0.0f;
}

void ReluBackwardKernel(std::size_t n, const float* HWY_RESTRICT z, const float* da, float* dz) {
  const hn::ScalableTag<float> d;
  const std::size_t L = hn::Lanes(d);
  std::size_t i = 0;
  for (; i + L <= n; i += L) {
    const auto zv = hn::LoadU(d, z + i);
    hn::StoreU(hn::IfThenElseZero(hn::Gt(zv, hn::Zero(d)), hn::LoadU(d, da + i)), d, dz + i);
  }
  for (; i < n; ++i) dz[i] = z[i] > 0.0f ? da[i] : 0.0f;
}

}  // namespace HWY_NAMESPACE
}  // namespace digitnet
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace digitnet {
HWY_EXPORT(AxpyKernel);
HWY_EXPORT(BytesToFloatsKernel);
HWY_EXPORT(ReluForwardKernel);
HWY_EXPORT(ReluBackwardKernel);

void bytes_to_floats(std::size_t n, const std::uint8_t* src, float scale, float* dst) {
  HWY_DYNAMIC_DISPATCH(BytesToFloatsKernel)(n, src, scale, dst);
}
void relu_forward(std::size_t n, const float* z, float* a) { HWY_DYNAMIC_DISPATCH(ReluForwardKernel)(n, z, a); }
void relu_backward(std::size_t n, const float* z, const float* da, float* dz) {
  HWY_DYNAMIC_DISPATCH(ReluBackwardKernel)(n, z, da, dz);
}

void axpy(std::size_t n, float alpha, const float* x, float* y) {
  constexpr std::size_t kChunk = 16384;  // below this a second thread costs more than it saves
  const int tasks = static_cast<int>(std::min<std::size_t>(threads(), n / kChunk));
  if (tasks <= 1) return HWY_DYNAMIC_DISPATCH(AxpyKernel)(n, alpha, x, y);
  run_parallel(tasks, [&](int t) {
    // chunk edges on 64-float boundaries keep each thread on its own cache lines
    const std::size_t begin = std::min(n, n * t / tasks / 64 * 64), end = std::min(n, n * (t + 1) / tasks / 64 * 64);
    const std::size_t stop = t + 1 == tasks ? n : end;
    HWY_DYNAMIC_DISPATCH(AxpyKernel)(stop - begin, alpha, x + begin, y + begin);
  });
}

}  // namespace digitnet
#endif
