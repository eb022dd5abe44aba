#include "pgm.hpp"

#include <fmt/format.h>

#include "digitnet/core/error.hpp"

namespace digitnet {
namespace {

bool is_space(std::uint8_t c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }

// Reads the text from the front: numbers separated by whitespace, with comments ('#' to the end
// of the line) wherever whitespace may be, as Netpbm's own readers allow.
class PgmText {
 public:
  PgmText(std::span<const std::uint8_t> bytes, const std::string& what) : bytes_(bytes), what_(what) {}

  void skip_space() {
    while (pos_ < bytes_.size()) {
      if (bytes_[pos_] == '#') {
        while (pos_ < bytes_.size() && bytes_[pos_] != '\n' && bytes_[pos_] != '\r') ++pos_;
      } else if (is_space(bytes_[pos_])) {
        ++pos_;
      } else {
        return;
      }
    }
  }

  // A decimal number in [min, max], after whitespace; `field` names it in an error (with `index`
  // after it, for a pixel).
  unsigned number(unsigned min, unsigned max, const char* field, std::size_t index = kNoIndex) {
    const auto name = [&] { return index == kNoIndex ? std::string(field) : fmt::format("{} {}", field, index); };
    skip_space();
    if (pos_ == bytes_.size() || bytes_[pos_] < '0' || bytes_[pos_] > '9')
      throw Error(fmt::format("{}: plain PGM: {} is missing or not a number", what_, name()));
    std::uint64_t v = 0;
    while (pos_ < bytes_.size() && bytes_[pos_] >= '0' && bytes_[pos_] <= '9') {
      v = v * 10 + (bytes_[pos_++] - '0');
      if (v > max) break;
    }
    if (v < min || v > max) throw Error(fmt::format("{}: plain PGM: {} is outside {}..{}", what_, name(), min, max));
    if (pos_ < bytes_.size() && !is_space(bytes_[pos_]) && bytes_[pos_] != '#')
      throw Error(fmt::format("{}: plain PGM: {} is not a number", what_, name()));
    return static_cast<unsigned>(v);
  }

  static constexpr std::size_t kNoIndex = std::size_t(-1);

  std::size_t left() const { return bytes_.size() - pos_; }
  void skip(std::size_t n) { pos_ += n; }

 private:
  std::span<const std::uint8_t> bytes_;
  const std::string& what_;
  std::size_t pos_ = 0;
};

struct Header {
  unsigned width = 0, height = 0, maxval = 0;
};

Header read_header(PgmText& text, const std::string& what, int max_side, bool plain) {
  text.skip(2);  // "P2" or "P5"
  Header h;
  const auto side = static_cast<unsigned>(max_side);
  h.width = text.number(1, side, "the width");
  h.height = text.number(1, side, "the height");
  h.maxval = text.number(1, 65535, "the maxval");
  const std::size_t pixels = std::size_t(h.width) * h.height;
  if (plain) {
    // Each pixel is at least a digit and a separator: the header may not declare more than that.
    if (pixels > (text.left() + 1) / 2)
      throw Error(
          fmt::format("{}: plain PGM: its header declares {}x{} pixels, more than its {} bytes of text can hold", what,
                      h.width, h.height, text.left()));
  } else {
    text.skip(1);  // the one whitespace after maxval
    const std::size_t bytes = pixels * (h.maxval > 255 ? 2 : 1);
    if (text.left() != bytes)
      throw Error(fmt::format("{}: PGM: its header declares {}x{} pixels ({} bytes) but {} bytes follow it", what,
                              h.width, h.height, bytes, text.left()));
  }
  return h;
}

}  // namespace

bool is_plain_pgm(std::span<const std::uint8_t> bytes) {
  return bytes.size() >= 3 && bytes[0] == 'P' && bytes[1] == '2' && (is_space(bytes[2]) || bytes[2] == '#');
}

bool is_pgm(std::span<const std::uint8_t> bytes) {
  return bytes.size() >= 3 && bytes[0] == 'P' && (bytes[1] == '2' || bytes[1] == '5') &&
         (is_space(bytes[2]) || bytes[2] == '#');
}

ImageSize pgm_size(std::span<const std::uint8_t> bytes, const std::string& what, int max_side) {
  PgmText text(bytes, what);
  const Header h = read_header(text, what, max_side, is_plain_pgm(bytes));
  return {static_cast<int>(h.width), static_cast<int>(h.height)};
}

GrayImage decode_pgm(std::span<const std::uint8_t> bytes, const std::string& what, int max_side) {
  const bool plain = is_plain_pgm(bytes);
  PgmText text(bytes, what);
  const Header h = read_header(text, what, max_side, plain);
  GrayImage img;
  img.width = static_cast<int>(h.width);
  img.height = static_cast<int>(h.height);
  img.maxval = static_cast<int>(h.maxval);
  const std::size_t n = std::size_t(h.width) * h.height;
  img.levels.resize(n);
  if (plain) {
    for (std::size_t i = 0; i < n; ++i)
      img.levels[i] = static_cast<std::uint16_t>(text.number(0, h.maxval, "pixel", i));
    text.skip_space();
    if (text.left() != 0) throw Error(fmt::format("{}: plain PGM: {} bytes after its {} pixels", what, text.left(), n));
  } else {
    const std::uint8_t* p = bytes.data() + (bytes.size() - text.left());
    const bool wide = h.maxval > 255;
    for (std::size_t i = 0; i < n; ++i) {
      const unsigned v = wide ? (unsigned(p[2 * i]) << 8) | p[2 * i + 1] : p[i];
      if (v > h.maxval) throw Error(fmt::format("{}: PGM: pixel {} is {}, above the maxval {}", what, i, v, h.maxval));
      img.levels[i] = static_cast<std::uint16_t>(v);
    }
  }
  img.pixels.resize(n);
  const auto maxval = static_cast<float>(h.maxval);  // divided, as stb_image's 8-bit pixels are by 255
  for (std::size_t i = 0; i < n; ++i) img.pixels[i] = static_cast<float>(img.levels[i]) / maxval;
  return img;
}

}  // namespace digitnet
