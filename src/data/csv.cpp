#include "digitnet/data/csv.hpp"

#include <charconv>
#include <cmath>

#include <fmt/format.h>

#include "digitnet/core/error.hpp"
#include "digitnet/data/file.hpp"

namespace digitnet {
namespace {

std::vector<std::string_view> split_fields(std::string_view line) {
  std::vector<std::string_view> fields;
  std::size_t pos = 0;
  while (true) {
    const std::size_t comma = line.find(',', pos);
    std::string_view f = line.substr(pos, comma == std::string_view::npos ? std::string_view::npos : comma - pos);
    while (!f.empty() && (f.front() == ' ' || f.front() == '"')) f.remove_prefix(1);
    while (!f.empty() && (f.back() == ' ' || f.back() == '"')) f.remove_suffix(1);
    fields.push_back(f);
    if (comma == std::string_view::npos) break;
    pos = comma + 1;
  }
  return fields;
}

bool parse_number(std::string_view f, double& v) {
  const auto [end, ec] = std::from_chars(f.data(), f.data() + f.size(), v);
  return !f.empty() && ec == std::errc() && end == f.data() + f.size();
}

}  // namespace

Dataset parse_csv(std::string_view text, const std::string& what) {
  if (text.starts_with("\xEF\xBB\xBF")) text.remove_prefix(3);  // the UTF-8 byte order mark Excel writes
  // Lines end in LF (Unix), CRLF (Windows) or CR alone (classic Mac OS, and Excel for Mac's
  // "CSV (Macintosh)"); blank lines are skipped, and errors name the line as an editor counts it.
  std::vector<std::string_view> lines;
  std::vector<std::size_t> line_numbers;
  std::size_t number = 1;
  for (std::size_t pos = 0; pos < text.size(); ++number) {
    std::size_t end = text.find_first_of("\r\n", pos);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view line = text.substr(pos, end - pos);
    if (!line.empty()) {
      lines.push_back(line);
      line_numbers.push_back(number);
    }
    pos = end + (text.substr(end).starts_with("\r\n") ? 2 : 1);
  }
  if (lines.empty()) throw Error(fmt::format("{}: empty CSV file", what));

  const auto first = split_fields(lines[0]);
  double probe = 0;
  const bool header = !parse_number(first[0], probe);
  const std::size_t cols = first.size();
  if (cols < 2)
    throw Error(fmt::format("{}: line {} has {} column; expected a label and pixels", what, line_numbers[0], cols));
  // Where the label is and how bright a full pixel is.
  std::size_t label_col = 0;
  float pixel_max = 255;
  if (header) {
    label_col = cols;
    for (std::size_t c = 0; c < cols; ++c)
      if (first[c] == "label" || first[c] == "Label" || first[c] == "target" || first[c] == "class") label_col = c;
    if (label_col == cols) throw Error(fmt::format("{}: header has no 'label' column", what));
  } else if (cols == 65) {  // scikit-learn's digits.csv: 64 pixels 0..16, then the label
    label_col = 64;
    pixel_max = 16;
  }
  const std::size_t start = header ? 1 : 0;
  if (lines.size() <= start) throw Error(fmt::format("{}: no data rows after the header", what));

  Dataset d;
  d.pixel_max = pixel_max;
  const int features = static_cast<int>(cols - 1);
  const int side = static_cast<int>(std::lround(std::sqrt(features)));
  d.height = side * side == features ? side : 1;
  d.width = side * side == features ? side : features;
  d.pixels.reserve((lines.size() - start) * features);
  d.labels.reserve(lines.size() - start);
  for (std::size_t li = start; li < lines.size(); ++li) {
    const auto fields = split_fields(lines[li]);
    if (fields.size() != cols)
      throw Error(fmt::format("{}: line {} has {} columns, expected {}", what, line_numbers[li], fields.size(), cols));
    for (std::size_t c = 0; c < cols; ++c) {
      double v = 0;
      if (!parse_number(fields[c], v))
        throw Error(
            fmt::format("{}: line {}, column {}: '{}' is not a number", what, line_numbers[li], c + 1, fields[c]));
      if (c == label_col) {
        if (v != std::floor(v) || v < 0 || v >= kClasses)
          throw Error(fmt::format("{}: line {}: label {} is out of range 0..{}", what, line_numbers[li], fields[c],
                                  kClasses - 1));
        d.labels.push_back(static_cast<std::uint8_t>(v));
      } else {
        if (v != std::floor(v) || v < 0 || v > pixel_max)
          throw Error(fmt::format("{}: line {}, column {}: pixel {} is not an integer in 0..{}", what, line_numbers[li],
                                  c + 1, fields[c], pixel_max));
        d.pixels.push_back(static_cast<std::uint8_t>(v));
      }
    }
  }
  return d;
}

Dataset load_csv(const std::string& path) {
  const Bytes bytes = read_maybe_gzipped(path);
  return parse_csv(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()), path);
}

}  // namespace digitnet
