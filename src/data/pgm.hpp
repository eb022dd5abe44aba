#pragma once
// Plain PGM ("P2", pixels as decimal text), which stb_image does not read (it reads the binary
// "P5"). Width, height and maxval are bounded, and the pixel count the header declares is
// checked against the text there is before anything is allocated.
#include <cstdint>
#include <span>
#include <string>

#include "digitnet/data/image.hpp"

namespace digitnet {

bool is_plain_pgm(std::span<const std::uint8_t> bytes);
// The width and height its header declares; throws Error naming `what` if the header is bad.
ImageSize plain_pgm_size(std::span<const std::uint8_t> bytes, const std::string& what, int max_side);
GrayImage decode_plain_pgm(std::span<const std::uint8_t> bytes, const std::string& what, int max_side);

}  // namespace digitnet
