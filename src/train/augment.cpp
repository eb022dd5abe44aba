#include "digitnet/train/augment.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <numbers>
#include <vector>

#include <fmt/format.h>

#include "digitnet/core/error.hpp"

namespace digitnet {

Augment parse_augment(std::string_view text) {
  Augment a;
  if (text == "none") return a;
  std::vector<std::string_view> seen;
  std::size_t pos = 0;
  while (pos <= text.size()) {
    const std::size_t comma = std::min(text.find(',', pos), text.size());
    const std::string_view item = text.substr(pos, comma - pos);
    const auto colon = item.find(':');
    const std::string_view name = item.substr(0, colon);
    double value = 0;
    const bool has_value = colon != std::string_view::npos;
    if (has_value) {
      const std::string_view v = item.substr(colon + 1);
      const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), value);
      const bool shift = name == "shift", scale = name == "scale";
      const double most = shift ? 14 : scale ? 0.5 : 180;
      if (ec != std::errc() || end != v.data() + v.size() || !(value > 0 && value <= most) ||
          (shift && value != std::floor(value)))
        throw SettingError("augment", fmt::format("'{}' needs {} after ':'", item,
                                                  shift   ? "a whole number of pixels, 1 to 14"
                                                  : scale ? "a fraction in (0, 0.5]"
                                                          : "a number of degrees in (0, 180]"));
    }
    if (std::find(seen.begin(), seen.end(), name) != seen.end())
      throw SettingError("augment", fmt::format("'{}' is given twice in '{}'", name, text));
    seen.push_back(name);
    if (name == "shift" && has_value) a.shift = static_cast<int>(value);
    else if (name == "rotate" && has_value) a.rotate = value;
    else if (name == "scale" && has_value) a.scale = value;
    else if (name == "elastic" && !has_value) a.elastic = true;
    else if (name == "flip" && !has_value) a.flip = true;
    else
      throw SettingError(
          "augment",
          fmt::format("'{}' is not one of none, shift:PIXELS, rotate:DEGREES, scale:FRACTION, elastic, flip", item));
    pos = comma + 1;
  }
  return a;
}

std::string to_string(const Augment& a) {
  std::string s;
  const auto add = [&](const std::string& x) { s += (s.empty() ? "" : ",") + x; };
  if (a.shift) add(fmt::format("shift:{}", a.shift));
  if (a.rotate > 0) add(fmt::format("rotate:{}", a.rotate));
  if (a.scale > 0) add(fmt::format("scale:{}", a.scale));
  if (a.elastic) add("elastic");
  if (a.flip) add("flip");
  return s.empty() ? "none" : s;
}

namespace {

// 1-D Gaussian blur of a height x width field, along rows then columns.
void blur(std::vector<float>& f, int h, int w, double sigma) {
  const int r = static_cast<int>(std::ceil(2 * sigma));
  std::vector<float> k(2 * r + 1), tmp(f.size());
  float sum = 0;
  for (int i = -r; i <= r; ++i) sum += k[i + r] = static_cast<float>(std::exp(-0.5 * i * i / (sigma * sigma)));
  for (float& v : k) v /= sum;
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      float s = 0;
      for (int i = -r; i <= r; ++i) s += k[i + r] * f[y * w + std::clamp(x + i, 0, w - 1)];
      tmp[y * w + x] = s;
    }
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      float s = 0;
      for (int i = -r; i <= r; ++i) s += k[i + r] * tmp[std::clamp(y + i, 0, h - 1) * w + x];
      f[y * w + x] = s;
    }
}

float sample(const std::vector<float>& img, int h, int w, double y, double x) {  // bilinear, 0 outside
  const int x0 = static_cast<int>(std::floor(x)), y0 = static_cast<int>(std::floor(y));
  const double fx = x - x0, fy = y - y0;
  const auto at = [&](int yy, int xx) { return yy < 0 || yy >= h || xx < 0 || xx >= w ? 0.0f : img[yy * w + xx]; };
  return static_cast<float>((1 - fy) * ((1 - fx) * at(y0, x0) + fx * at(y0, x0 + 1)) +
                            fy * ((1 - fx) * at(y0 + 1, x0) + fx * at(y0 + 1, x0 + 1)));
}

}  // namespace

void augment_image(const Augment& a, std::span<float> image, int h, int w, Rng& rng) {
  thread_local std::vector<float> src;
  src.assign(image.begin(), image.end());
  // Output pixel (y, x) reads the source at an affine map of itself plus an elastic offset.
  const double angle = a.rotate > 0 ? (2 * rng.uniform() - 1) * a.rotate * std::numbers::pi / 180 : 0;
  const double dx = a.shift ? static_cast<double>(rng.below(2 * a.shift + 1)) - a.shift : 0;
  const double dy = a.shift ? static_cast<double>(rng.below(2 * a.shift + 1)) - a.shift : 0;
  const bool flip = a.flip && rng.uniform() < 0.5;
  // drawn last, so that the other distortions draw as they did before scale existed
  const double zoom = a.scale > 0 ? 1 + (2 * rng.uniform() - 1) * a.scale : 1;
  if (angle == 0 && zoom == 1 && !a.elastic) {
    // Whole-pixel shifts and flips move pixels without interpolating: a copy, and the same
    // bits as the general path below (bilinear weights of exactly 1 and 0).
    const int sx0 = static_cast<int>(dx), sy0 = static_cast<int>(dy);
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w; ++x) {
        const int sx = (flip ? w - 1 - x : x) - sx0, sy = y - sy0;
        const float v = sx < 0 || sx >= w || sy < 0 || sy >= h ? 0.0f : src[sy * w + sx];
        image[y * w + x] = std::clamp(v, 0.0f, 1.0f);
      }
    return;
  }
  std::vector<float> ex, ey;
  if (a.elastic) {
    ex.resize(src.size());
    ey.resize(src.size());
    for (auto& v : ex) v = static_cast<float>(2 * rng.uniform() - 1);
    for (auto& v : ey) v = static_cast<float>(2 * rng.uniform() - 1);
    const double sigma = 3.0 * w / 28, alpha = 6.0 * w / 28;
    blur(ex, h, w, sigma);
    blur(ey, h, w, sigma);
    // A blurred unit-variance field is small; rescale so alpha is the typical displacement.
    double rms = 0;
    for (std::size_t i = 0; i < ex.size(); ++i) rms += ex[i] * ex[i] + ey[i] * ey[i];
    rms = std::sqrt(rms / (2 * ex.size())) + 1e-12;
    for (std::size_t i = 0; i < ex.size(); ++i) {
      ex[i] = static_cast<float>(ex[i] * alpha / 3 / rms);
      ey[i] = static_cast<float>(ey[i] * alpha / 3 / rms);
    }
  }
  // The source point of an output pixel: rotated by -angle and shrunk by the zoom about the
  // centre (a zoom above 1 enlarges the image).
  const double cy = (h - 1) / 2.0, cx = (w - 1) / 2.0, c = std::cos(angle) / zoom, s = std::sin(angle) / zoom;
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      const double ox = flip ? (w - 1 - x) : x;
      double sx = c * (ox - cx) + s * (y - cy) + cx - dx;
      double sy = -s * (ox - cx) + c * (y - cy) + cy - dy;
      if (a.elastic) {
        sx += ex[y * w + x];
        sy += ey[y * w + x];
      }
      image[y * w + x] = std::clamp(sample(src, h, w, sy, sx), 0.0f, 1.0f);
    }
}

}  // namespace digitnet
