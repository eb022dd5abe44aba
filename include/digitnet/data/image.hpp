#pragma once
// Images for `predict` and the web page: decode PNG/JPEG/PGM (stb_image; plain-text PGM in
// src/data/pgm.cpp), turn them into what the network saw in training (docs/math.md,
// "Preparing a drawn digit").
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace digitnet {

struct GrayImage {
  int width = 0, height = 0;
  std::vector<float> pixels;  // row-major, 0 = black, 1 = white
};

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
// Chooses between the two by the model's input shape (28x28 -> MNIST recipe).
std::vector<float> preprocess_for_input(const GrayImage& img, int height, int width, const std::string& what);

}  // namespace digitnet
