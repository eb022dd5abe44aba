#pragma once
// PGM, plain ("P2", pixels as decimal text, which stb_image does not read) and binary ("P5"),
// read here with their own maxval: the 8x8 digits are 0..16, a maxval stb_image would not keep.
// Width, height and maxval are bounded, and the pixel count the header declares is checked
// against the bytes there are before anything is allocated.
#include <cstdint>
#include <span>
#include <string>

#include "digitnet/data/image.hpp"

namespace digitnet {

bool is_plain_pgm(std::span<const std::uint8_t> bytes);
bool is_pgm(std::span<const std::uint8_t> bytes);  // P2 or P5
// The width and height its header declares; throws Error naming `what` if the header is bad.
ImageSize pgm_size(std::span<const std::uint8_t> bytes, const std::string& what, int max_side);
GrayImage decode_pgm(std::span<const std::uint8_t> bytes, const std::string& what, int max_side);

}  // namespace digitnet
