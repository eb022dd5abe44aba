#include "digitnet/data/image.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>
#include <stb_image.h>
#include <stb_image_resize.h>
#include <stb_image_write.h>

#include "digitnet/core/error.hpp"
#include "digitnet/data/file.hpp"
#include "pgm.hpp"

namespace digitnet {
namespace {

constexpr int kMaxSide = 8192;

// The most pixels `bytes` of an image can honestly describe. PGM stores each pixel in a byte or
// more (binary) or in a digit and a separator (text). PNG's deflate gives at most about 1,032
// bytes per byte in, and JPEG's emptiest blocks take a few bits per 64 pixels (under 520
// pixels a byte); only a GIF of one flat colour, which LZW packs tighter still, is refused
// though honest.
std::size_t max_pixels(std::span<const std::uint8_t> bytes) {
  const bool pgm = bytes.size() >= 2 && bytes[0] == 'P' && (bytes[1] == '2' || bytes[1] == '5');
  return pgm ? bytes.size() : 1100 * bytes.size();
}

void check_size(int w, int h, std::span<const std::uint8_t> bytes, const std::string& what) {
  if (w < 1 || h < 1 || w > kMaxSide || h > kMaxSide)
    throw Error(fmt::format("{}: image size {}x{} is outside 1..{}", what, w, h, kMaxSide));
  if (std::size_t(w) * std::size_t(h) > max_pixels(bytes))
    throw Error(fmt::format("{}: its header declares {}x{} pixels, more than {} bytes of image can hold", what, w, h,
                            bytes.size()));
}

std::vector<float> resize(const std::vector<float>& src, int w, int h, int nw, int nh) {
  std::vector<float> out(static_cast<std::size_t>(nw) * nh);
  stbir_resize_float(src.data(), w, h, 0, out.data(), nw, nh, 0, 1);
  for (float& v : out) v = std::clamp(v, 0.0f, 1.0f);  // the filters can ring slightly past [0, 1]
  return out;
}

// The median of the image's border: its background.
float background_of(const GrayImage& img) {
  std::vector<float> border;
  for (int x = 0; x < img.width; ++x) {
    border.push_back(img.pixels[x]);
    border.push_back(img.pixels[static_cast<std::size_t>(img.height - 1) * img.width + x]);
  }
  for (int y = 0; y < img.height; ++y) {
    border.push_back(img.pixels[static_cast<std::size_t>(y) * img.width]);
    border.push_back(img.pixels[static_cast<std::size_t>(y) * img.width + img.width - 1]);
  }
  std::nth_element(border.begin(), border.begin() + border.size() / 2, border.end());
  return border[border.size() / 2];
}

// Light ink on a dark background, stretched so background = 0 and the brightest ink = 1.
std::vector<float> light_on_dark(const GrayImage& img, const std::string& what) {
  const float background = background_of(img);
  const bool invert = background > 0.5f;  // dark ink on paper
  std::vector<float> out(img.pixels.size());
  for (std::size_t i = 0; i < out.size(); ++i) out[i] = invert ? 1.0f - img.pixels[i] : img.pixels[i];
  const float bg = invert ? 1.0f - background : background;
  const float peak = *std::max_element(out.begin(), out.end());
  if (peak - bg < 0.05f) throw Error(fmt::format("{}: the image looks blank (no digit found)", what));
  for (float& v : out) v = std::clamp((v - bg) / (peak - bg), 0.0f, 1.0f);
  return out;
}

// The box around the ink (pixels above 0.1) of a width x height image, cut out: what both
// centrings start from.
struct Ink {
  std::vector<float> box;
  int width, height;
};

Ink crop_to_ink(const std::vector<float>& px, int width, int height) {
  int x0 = width, y0 = height, x1 = -1, y1 = -1;
  for (int y = 0; y < height; ++y)
    for (int x = 0; x < width; ++x)
      if (px[static_cast<std::size_t>(y) * width + x] > 0.1f) {
        x0 = std::min(x0, x);
        x1 = std::max(x1, x);
        y0 = std::min(y0, y);
        y1 = std::max(y1, y);
      }
  Ink ink{{}, x1 - x0 + 1, y1 - y0 + 1};
  ink.box.resize(static_cast<std::size_t>(ink.width) * ink.height);
  for (int y = 0; y < ink.height; ++y)
    for (int x = 0; x < ink.width; ++x)
      ink.box[static_cast<std::size_t>(y) * ink.width + x] = px[static_cast<std::size_t>(y + y0) * width + x + x0];
  return ink;
}

}  // namespace

std::vector<std::uint8_t> encode_png(const std::uint8_t* pixels, int width, int height, int channels) {
  std::vector<std::uint8_t> out;
  stbi_write_png_to_func(
      [](void* ctx, void* data, int size) {
        auto* o = static_cast<std::vector<std::uint8_t>*>(ctx);
        o->insert(o->end(), static_cast<std::uint8_t*>(data), static_cast<std::uint8_t*>(data) + size);
      },
      &out, width, height, channels, pixels, width * channels);
  return out;
}

std::optional<ImageSize> image_size(std::span<const std::uint8_t> bytes) {
  if (bytes.empty() || bytes.size() > (std::size_t(1) << 30)) return std::nullopt;
  if (is_pgm(bytes)) {
    try {
      return pgm_size(bytes, "", kMaxSide);
    } catch (const Error&) {
      return std::nullopt;
    }
  }
  int w = 0, h = 0, channels = 0;
  if (!stbi_info_from_memory(bytes.data(), static_cast<int>(bytes.size()), &w, &h, &channels)) return std::nullopt;
  return ImageSize{w, h};
}

GrayImage decode_image(std::span<const std::uint8_t> bytes, const std::string& what) {
  if (bytes.empty() || bytes.size() > (std::size_t(1) << 30))
    throw Error(fmt::format("{}: empty or oversized image", what));
  if (is_pgm(bytes)) {
    const ImageSize size = pgm_size(bytes, what, kMaxSide);
    check_size(size.width, size.height, bytes, what);
    return decode_pgm(bytes, what, kMaxSide);
  }
  int w = 0, h = 0, channels = 0;
  const int len = static_cast<int>(bytes.size());
  if (!stbi_info_from_memory(bytes.data(), len, &w, &h, &channels))
    throw Error(fmt::format("{}: not a readable PNG, JPEG or PGM image ({})", what, stbi_failure_reason()));
  check_size(w, h, bytes, what);
  unsigned char* data = stbi_load_from_memory(bytes.data(), len, &w, &h, &channels, 0);
  if (!data) throw Error(fmt::format("{}: cannot decode image ({})", what, stbi_failure_reason()));
  GrayImage img;
  img.width = w;
  img.height = h;
  img.pixels.resize(static_cast<std::size_t>(w) * h);
  const bool has_alpha = channels == 2 || channels == 4;
  const int colour = has_alpha ? channels - 1 : channels;
  std::vector<float> alpha(img.pixels.size(), 1.0f);
  double ink_sum = 0, ink_n = 0;
  for (std::size_t i = 0; i < img.pixels.size(); ++i) {
    const unsigned char* p = data + i * channels;
    // Rec. 601 luma, as PIL's convert("L")
    const float lum = colour == 1 ? p[0] / 255.0f : (0.299f * p[0] + 0.587f * p[1] + 0.114f * p[2]) / 255.0f;
    img.pixels[i] = lum;
    if (has_alpha) {
      alpha[i] = p[channels - 1] / 255.0f;
      if (alpha[i] > 0.5f) {
        ink_sum += lum;
        ink_n += 1;
      }
    }
  }
  if (channels == 1) {  // one gray channel: its levels as they are
    img.levels.assign(data, data + img.pixels.size());
    img.maxval = 255;
  }
  stbi_image_free(data);
  if (has_alpha) {
    // Strokes on a transparent canvas: put them on the background that contrasts with them.
    const float background = ink_n > 0 && ink_sum / ink_n < 0.5 ? 1.0f : 0.0f;
    for (std::size_t i = 0; i < img.pixels.size(); ++i)
      img.pixels[i] = alpha[i] * img.pixels[i] + (1.0f - alpha[i]) * background;
  }
  return img;
}

GrayImage load_image(const std::string& path) { return decode_image(read_file(path), path); }

std::vector<float> preprocess_mnist(const GrayImage& img, const std::string& what) {
  // Crop to the ink.
  const auto [box, bw, bh] = crop_to_ink(light_on_dark(img, what), img.width, img.height);
  // Fit the longer side to 20 pixels.
  const double scale = 20.0 / std::max(bw, bh);
  const int nw = std::clamp(static_cast<int>(std::lround(bw * scale)), 1, 20);
  const int nh = std::clamp(static_cast<int>(std::lround(bh * scale)), 1, 20);
  const std::vector<float> fitted = resize(box, bw, bh, nw, nh);
  // Centre of mass to the middle of the 28x28 field.
  double mass = 0, cx = 0, cy = 0;
  for (int y = 0; y < nh; ++y)
    for (int x = 0; x < nw; ++x) {
      const double v = fitted[static_cast<std::size_t>(y) * nw + x];
      mass += v;
      cx += v * x;
      cy += v * y;
    }
  if (mass <= 0) throw Error(fmt::format("{}: the image looks blank (no digit found)", what));
  const int ox = std::clamp(static_cast<int>(std::lround(13.5 - cx / mass)), 0, 28 - nw);
  const int oy = std::clamp(static_cast<int>(std::lround(13.5 - cy / mass)), 0, 28 - nh);
  std::vector<float> out(28 * 28, 0.0f);
  for (int y = 0; y < nh; ++y)
    for (int x = 0; x < nw; ++x)
      out[static_cast<std::size_t>(y + oy) * 28 + x + ox] = fitted[static_cast<std::size_t>(y) * nw + x];
  return out;
}

std::vector<float> preprocess_plain(const GrayImage& img, int height, int width, const std::string& what) {
  return resize(light_on_dark(img, what), img.width, img.height, width, height);
}

std::vector<float> preprocess_fill(const GrayImage& img, int height, int width, const std::string& what) {
  const auto [box, bw, bh] = crop_to_ink(light_on_dark(img, what), img.width, img.height);
  // The box fills the frame along its longer side, keeping its aspect ratio, centred.
  const double scale = std::min(double(width) / bw, double(height) / bh);
  const int nw = std::clamp(static_cast<int>(std::lround(bw * scale)), 1, width);
  const int nh = std::clamp(static_cast<int>(std::lround(bh * scale)), 1, height);
  const std::vector<float> fitted = resize(box, bw, bh, nw, nh);
  std::vector<float> out(static_cast<std::size_t>(width) * height, 0.0f);
  const int ox = (width - nw) / 2, oy = (height - nh) / 2;
  for (int y = 0; y < nh; ++y)
    for (int x = 0; x < nw; ++x)
      out[static_cast<std::size_t>(y + oy) * width + x + ox] = fitted[static_cast<std::size_t>(y) * nw + x];
  return out;
}

bool light_on_dark(const GrayImage& img) { return background_of(img) <= 0.5f; }

std::string to_string(Centring c) { return c == Centring::mnist ? "mnist" : "fill"; }

Centring parse_centring(std::string_view text) {
  if (text == "mnist") return Centring::mnist;
  if (text == "fill") return Centring::fill;
  throw Error(fmt::format("centring '{}' is not mnist or fill", text));
}

Centring centring_of(const std::string& dataset_name, int height, int width) {
  if (dataset_name == "fashion-mnist" || dataset_name == "digits") return Centring::fill;
  return height == 28 && width == 28 ? Centring::mnist : Centring::fill;
}

ModelInput prepare_input(const GrayImage& img, const InputFormat& f, const std::string& what) {
  ModelInput in;
  in.example.name = what;
  in.example.height = f.height;
  in.example.width = f.width;
  in.example.pixel_max = f.pixel_max;
  in.example.labels = {0};
  const bool geometry = img.width == f.width && img.height == f.height;
  const bool dark = background_of(img) <= 0.5f;
  // Pixel for pixel: the levels are the data's bytes.
  if (geometry && dark && !img.levels.empty() && float(img.maxval) == f.pixel_max && img.maxval <= 255) {
    in.example.pixels.assign(img.levels.begin(), img.levels.end());
    in.as_is = true;
    in.how = "as is";
    return in;
  }
  std::vector<float> x01;
  if (geometry && dark) {  // the model's frame, at another full intensity: rescaled, not moved
    x01 = img.pixels;
    in.how = fmt::format("as is, levels 0..{} read as 0..{}", img.levels.empty() ? 255 : img.maxval, f.pixel_max);
  } else if (geometry) {
    x01 = light_on_dark(img, what);
    in.how = "inverted (dark ink on a light background)";
  } else {
    x01 = f.centring == Centring::mnist && f.height == 28 && f.width == 28
              ? preprocess_mnist(img, what)
              : preprocess_fill(img, f.height, f.width, what);
    in.how = fmt::format("{}{}x{} {}", dark ? "" : "inverted; ", img.width, img.height,
                         f.centring == Centring::mnist ? "fitted in 20x20 and centred by mass (MNIST's convention)"
                                                       : "cropped to its ink and fitted to the frame");
  }
  in.example.values.resize(x01.size());
  for (std::size_t i = 0; i < x01.size(); ++i) in.example.values[i] = x01[i] * f.pixel_max;  // in the model's units
  return in;
}

std::vector<float> preprocess_for_input(const GrayImage& img, int height, int width, const std::string& what) {
  if (height == 28 && width == 28) return preprocess_mnist(img, what);
  return preprocess_plain(img, height, width, what);
}

}  // namespace digitnet
