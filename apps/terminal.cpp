#include "terminal.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include <fmt/format.h>
#include <unistd.h>

namespace digitnet::cli {

std::string draw_digit(std::span<const float> px, int height, int width, const std::vector<std::string>& notes) {
  static constexpr std::string_view shades = " .:-=+*#%@";
  std::string out;
  std::size_t note = 0;
  for (int y = 0; y < height; y += 2) {
    out += "  |";
    for (int x = 0; x < width; ++x) {
      float v = px[static_cast<std::size_t>(y) * width + x];
      if (y + 1 < height) v = 0.5f * (v + px[static_cast<std::size_t>(y + 1) * width + x]);
      const auto level = static_cast<std::size_t>(std::lround(std::clamp(v, 0.0f, 1.0f) * (shades.size() - 1)));
      out += shades[level];
    }
    out += "|";
    if (note < notes.size()) out += "  " + notes[note++];
    out += "\n";
  }
  for (; note < notes.size(); ++note) out += std::string(width + 5, ' ') + notes[note] + "\n";
  return out;
}

bool stdout_is_terminal() { return ::isatty(STDOUT_FILENO) == 1; }

void show_progress(int epoch, std::size_t done, std::size_t total) {
  constexpr int width = 40;
  const int filled = static_cast<int>(width * done / std::max<std::size_t>(total, 1));
  fmt::print("\r  epoch {:>4} [{}{}] {:>3}%", epoch, std::string(filled, '='), std::string(width - filled, ' '),
             100 * done / std::max<std::size_t>(total, 1));
  std::fflush(stdout);
}

void clear_line() {
  fmt::print("\r\033[K");
  std::fflush(stdout);
}

FetchOptions cli_fetch_options() {
  FetchOptions o;
  o.log = [](const std::string& message) {
    if (::isatty(STDERR_FILENO)) fmt::print(stderr, "\r\033[K");
    fmt::print(stderr, "digitnet: {}\n", message);
  };
  if (::isatty(STDERR_FILENO))
    o.progress = [](const std::string& url, std::uint64_t done, std::uint64_t total) {
      const std::string name = url.substr(url.rfind('/') + 1);
      if (total > 0)
        fmt::print(stderr, "\r  {} {:>5.1f} of {:.1f} MB {:>3}%", name, done / 1e6, total / 1e6, 100 * done / total);
      else fmt::print(stderr, "\r  {} {:>5.1f} MB", name, done / 1e6);
    };
  return o;
}

}  // namespace digitnet::cli
