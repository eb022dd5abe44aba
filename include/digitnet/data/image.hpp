#pragma once
// Images for `predict`, `serve` and image-folder datasets: decode PNG/JPEG (stb_image) and PGM
// (src/data/pgm.cpp), and turn them into what the network saw in training: pixel for pixel when
// an image already has the model's geometry, otherwise by its dataset's convention (docs/math.md,
// "Preparing a drawn digit").
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "digitnet/core/dataset.hpp"

namespace digitnet {

struct GrayImage {
  int width = 0, height = 0;
  std::vector<float> pixels;  // row-major, 0 = black, 1 = white
  // The file's own gray levels when it stores one gray channel (PGM, gray PNG): pixel i is
  // levels[i] / maxval. Empty for colour images and those with transparency.
  std::vector<std::uint16_t> levels;
  int maxval = 0;
};

// How a dataset places its digit (or item) in the frame, the convention an image of another
// size is prepared by: MNIST's digits fill a 20x20 box centred by mass in 28x28; Fashion-MNIST's
// items and the 8x8 digits fill the frame.
enum class Centring { mnist, fill };
std::string to_string(Centring c);
Centring parse_centring(std::string_view text);  // throws Error
Centring centring_of(const std::string& dataset_name, int height, int width);

// What a model's inputs are, as its model file records: their geometry, the value of full
// intensity (light ink on a dark background, 0 the background), and the dataset's centring.
struct InputFormat {
  int height = 28, width = 28;
  float pixel_max = 255;
  Centring centring = Centring::mnist;
};

// Whether the image is light ink on a dark background (the median of its border is dark).
bool light_on_dark(const GrayImage& img);

// An image as a model's input: one example, and what was done to make it.
struct ModelInput {
  Dataset example;  // one row: the image's levels as the data's bytes (pixel for pixel), or prepared values
  bool as_is = false;
  std::string how;  // "as is", or e.g. "inverted; 300x200 centred in 20x20 by mass (MNIST's convention)"
};
// An image with the model's geometry, light on dark, whose levels reach the model's full
// intensity (a gray PNG for 255, a PGM whose maxval is the model's) is used pixel for pixel:
// the same example a dataset of such files gives, so predict agrees with eval bit for bit.
// Any other is made light on dark and placed by the format's centring.
ModelInput prepare_input(const GrayImage& img, const InputFormat& format, const std::string& what);

// PNG bytes of a width x height image with 1 (gray) or 3 (RGB) bytes per pixel.
std::vector<std::uint8_t> encode_png(const std::uint8_t* pixels, int width, int height, int channels);

struct ImageSize {
  int width = 0, height = 0;
};

// The width and height an image's header declares, read without decoding it (decoding holds a
// few bytes per pixel); nullopt if the bytes are not an image digitnet reads.
std::optional<ImageSize> image_size(std::span<const std::uint8_t> bytes);

// Before anything is decoded, the header's size is checked: each side 1..8192, and no more
// pixels than the bytes can honestly describe (a PGM stores each pixel in a byte or more; PNG's
// deflate and JPEG pack at most about a thousand pixels in a byte).
GrayImage decode_image(std::span<const std::uint8_t> bytes, const std::string& what);
GrayImage load_image(const std::string& path);

// The MNIST recipe for a 28x28 input: light-on-dark, crop to the ink, fit in 20x20
// keeping the aspect ratio, then place so the centre of mass is at the centre.
std::vector<float> preprocess_mnist(const GrayImage& img, const std::string& what);
// Light-on-dark and a plain resize to height x width (for the 8x8 digits).
std::vector<float> preprocess_plain(const GrayImage& img, int height, int width, const std::string& what);
// Light-on-dark, cropped to the ink and fitted to height x width keeping its aspect, centred
// (Fashion-MNIST's and the 8x8 digits' convention).
std::vector<float> preprocess_fill(const GrayImage& img, int height, int width, const std::string& what);
// Chooses between the MNIST recipe and a plain resize by the model's input shape (28x28 -> MNIST).
std::vector<float> preprocess_for_input(const GrayImage& img, int height, int width, const std::string& what);

}  // namespace digitnet
